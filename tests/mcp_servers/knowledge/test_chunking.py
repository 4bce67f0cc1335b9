from itertools import pairwise

from mcp_servers.knowledge.chunking import chunk_text

TEXT = (
    "# Guide\n\nIntro paragraph.\n\n## Install\n\n"
    + "Run the installer and follow the steps shown. " * 20
    + "\n\n## Use\n\n"
    + "Open the app and sign in with your account. " * 20
)


def test_chunks_stay_within_size_and_overlap() -> None:
    chunks = chunk_text(TEXT, size=300, overlap=80, markdown=True)
    assert all(len(c.text) <= 300 for c in chunks)
    for before, after in pairwise(chunks):
        assert after.start < before.end, "consecutive chunks overlap"
        assert after.start > before.start, "chunking always moves forward"
    assert chunks[-1].end == len(TEXT.rstrip())


def test_each_chunk_knows_its_range_and_section() -> None:
    chunks = chunk_text(TEXT, size=300, overlap=80, markdown=True)
    for chunk in chunks:
        assert TEXT[chunk.start : chunk.end].strip() == chunk.text
    assert chunks[0].section == "Guide"
    assert any(c.section == "Guide > Install" for c in chunks)
    assert chunks[-1].section == "Guide > Use"


def test_a_word_longer_than_a_chunk_is_still_cut() -> None:
    chunks = chunk_text("x" * 2500, size=1000, overlap=100)
    assert [len(c.text) for c in chunks] == [1000, 1000, 500]


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("  \n\n ") == []
