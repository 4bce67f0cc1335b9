"""Knowledge store benchmark: ingest rate and search latency on a corpus of >= 10,000 chunks.

    python -m benchmarks.knowledge [--documents 1000] [--embeddings hash|none|local]
                                   [--database-url URL] [--queries 200]

Builds a synthetic corpus (documents of ~12 paragraphs drawn from a 5,000-word vocabulary,
so about 10-12 chunks each), ingests it through the same path as uploads (extraction,
chunking, embedding, one transaction per document) for one user, then runs `--queries`
searches and prints p50/p95. `hash` embeddings are a deterministic in-process stand-in of
the real dimension (384) so the pgvector path is measured without a model's cost; `local`
uses all-MiniLM-L6-v2 (slow on CPU); `none` is full-text only. Without --database-url an
embedded PostgreSQL 18 (with pgvector) runs in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

from mcp_servers.knowledge import open_knowledge
from mcp_servers.settings import KnowledgeSettings, ServersSettings
from orchestrator.settings import DatabaseSettings, OpenAISettings, Settings


class HashEmbedder:
    """Deterministic 384-wide unit vectors from hashed words (no model)."""

    name = "all-MiniLM-L6-v2"
    dimensions = 384

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self.dimensions] += 1.0
        norm = sum(v * v for v in vector) ** 0.5 or 1.0
        return [v / norm for v in vector]


def corpus(documents: int, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "zu", "fe"]
    vocabulary = sorted(
        {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(6000)}
    )[:5000]
    texts = []
    for n in range(documents):
        paragraphs = []
        for _ in range(12):
            words = [rng.choice(vocabulary) for _ in range(rng.randint(140, 180))]
            paragraphs.append(" ".join(words).capitalize() + ".")
        texts.append(f"# Document {n}\n\n" + "\n\n".join(paragraphs))
    queries = [
        " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 6))) for _ in range(1000)
    ]
    return texts, queries


async def run(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="knowledge-bench-"))
    core = Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=args.database_url),
        openai=OpenAISettings(api_key=None, base_url=None),
    )
    settings = ServersSettings(core, knowledge=KnowledgeSettings(embeddings="none"))
    embedder: object | str | None
    if args.embeddings == "hash":
        embedder = HashEmbedder()
    elif args.embeddings == "local":
        from mcp_servers.knowledge.embeddings import LocalEmbedder

        embedder = LocalEmbedder()
    else:
        embedder = None
    texts, queries = corpus(args.documents)
    user = f"bench-{int(time.time())}"
    async with open_knowledge(settings, embedder=embedder) as knowledge:  # type: ignore[arg-type]
        print(f"search mode: {knowledge.mode}; {args.documents} documents")
        started = time.perf_counter()
        chunks = 0
        semaphore = asyncio.Semaphore(args.concurrency)

        async def ingest(index: int, text: str) -> int:
            async with semaphore:
                document = await knowledge.ingest(
                    user, text.encode(), mime_type="text/markdown", title=f"Document {index}"
                )
                return document.chunk_count

        for count in await asyncio.gather(*(ingest(i, t) for i, t in enumerate(texts))):
            chunks += count
        elapsed = time.perf_counter() - started
        print(
            f"ingest: {chunks} chunks in {elapsed:.1f} s = {chunks / elapsed:.0f} chunks/s "
            f"({args.documents / elapsed:.1f} documents/s)"
        )
        for _ in range(5):  # warm up
            await knowledge.search(user, queries[0])
        latencies = []
        for query in queries[: args.queries]:
            begin = time.perf_counter()
            hits = await knowledge.search(user, query, limit=5)
            latencies.append((time.perf_counter() - begin) * 1000)
            assert hits, query
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"search: {len(latencies)} queries over {chunks} chunks: "
            f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--embeddings", choices=["hash", "none", "local"], default="hash")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
