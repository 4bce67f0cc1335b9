"""Token counts: the fast path (bpe-openai's extension alone) is exact."""

from __future__ import annotations

import random
import subprocess
import sys

import bpe_openai
import pytest

from orchestrator.llm.tokenizer import BpeTokenizer, _load, _Rust

SAMPLES = [
    "",
    "Hello, world!",
    "naïve café — 東京 😀 <|endoftext|> it's 12345678 tokens\n\n\t  x",
    "def f(x):\n    return x ** 2  # comment\n" * 20,
]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_fast_path_counts_exactly_as_the_public_api(name: str) -> None:
    fast = _load(name)
    assert isinstance(fast, _Rust)
    reference = bpe_openai.get_encoding(name)
    generator = random.Random(7)
    alphabet = "ab cdé\n\t1234漢字😀,.!'s<|>"
    texts = SAMPLES + [
        "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 400)))
        for _ in range(100)
    ]
    for text in texts:
        assert fast.count(text) == len(reference.encode_ordinary(text)), text


def test_truncating_keeps_a_prefix_of_whole_characters() -> None:
    tokenizer = BpeTokenizer("o200k_base")
    text = "😀漢字 " * 200
    for limit in (1, 2, 3, 7, 50):
        cut = tokenizer.truncate(text, limit)
        assert text.startswith(cut)
        assert tokenizer.count(cut) <= limit
    assert tokenizer.truncate("short", 100) == "short"


def test_loading_skips_the_package_s_python_layer() -> None:
    # The Python layer decodes every encoding it ships at import (a second, 80 MB).
    code = (
        "import sys\n"
        "from orchestrator.llm.tokenizer import tokenizer_for\n"
        "assert tokenizer_for('gpt-5').count('hello world') == 2\n"
        "print('bpe_openai' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
