"""Ingestion throughput and query latency of ragkit over a large generated index.

    uv run aiinfra exec 110-02 -- python \
        modules/mod-110-llm-infrastructure/exercise-02-production-rag-system/benchmarks/bench_rag.py

Writes Markdown runbooks (the Lumen facts, shuffled across many fictional services; about 5
chunks each) until about ``--chunks`` chunks, and ingests them into a fresh embedded Chroma
index: chunks/s includes parsing, splitting, MiniLM embedding on this CPU and Chroma writes.
Beside it, the model's bare batched ``encode`` rate on the same chunk texts: the limit of the
pipeline. Then asks questions and reports p50/p95 per retrieval mode and for the whole
pipeline (hybrid + re-rank + extractive answer). The first query of each mode is a warm-up and
is not counted (BM25 builds its index on first use). Prints markdown tables, the index size on
disk, and writes bench_rag.json beside this file.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ragkit.config import RagSettings
from ragkit.corpus import SERVICES
from ragkit.rag import Rag
from rich.progress import Progress


def write_runbooks(dest: Path, services: int, seed: int = 7) -> None:
    """``services`` runbooks of 5 sections, each about 2 chunks long."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(services):
        base = SERVICES[i % len(SERVICES)]
        name = f"{base.name}-{i:05d}"
        deps = ", ".join(f"{rng.choice(SERVICES).name}-{rng.randrange(services):05d}"
                         for _ in range(3))  # fmt: skip
        sections = {
            "Purpose": f"The {name} service {base.purpose}.",
            "Ownership and on-call": f"The {base.team} team owns {name}.",
            "Service level objectives": f"The p99 latency objective of {name} is "
            f"{rng.randrange(10, 900)} milliseconds.",
            "Dependencies": f"{name} depends on {deps}.",
            "Common failures": f"When {base.failure}, {base.fix}.",
        }
        text = f"# {name} runbook\n"
        for heading, body in sections.items():
            filler = " ".join(rng.sample(body.split(), len(body.split())))
            text += f"\n## {heading}\n{body} {filler} {body}\n"
        (dest / f"{name}.md").write_text(text)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000,
                        help="about this many chunks (runbooks of ~5 chunks each)")  # fmt: skip
    parser.add_argument("--queries", type=int, default=100, help="questions per mode")
    args = parser.parse_args()

    if args.chunks < 50 or args.queries < 1:
        parser.error("--chunks must be at least 50 and --queries at least 1")
    services = max(10, args.chunks // 5)
    with tempfile.TemporaryDirectory(prefix="ragkit-bench-") as tmp:
        docs = Path(tmp) / "docs"
        write_runbooks(docs, services)
        started = time.perf_counter()
        rag = Rag(RagSettings(data_dir=Path(tmp) / "index", llm_url=None))
        load_s = time.perf_counter() - started

        with Progress(transient=True) as bar:
            task = bar.add_task("ingesting", total=services)
            started = time.perf_counter()
            report = rag.ingest([docs], lambda _s, done, _t: bar.update(task, completed=done))
            ingest_s = time.perf_counter() - started
        chunks = report.chunks_written
        index_mb = sum(f.stat().st_size for f in (Path(tmp) / "index").rglob("*")
                       if f.is_file()) / 1e6  # fmt: skip

        # The limit: the same model's batched encode over the same chunk texts, nothing else.
        texts = [c.page_content for c in rag.index.all_chunks()]
        started = time.perf_counter()
        rag.index.embeddings.embed_documents(texts)
        encode_s = time.perf_counter() - started

        rng = random.Random(11)
        names = [p.stem for p in docs.glob("*.md")]
        rows = []
        for label in ("dense", "sparse", "hybrid", "pipeline"):
            # Fresh questions per stage: the query-embedding cache must not flatter a stage
            # by what an earlier stage computed.
            questions = [f"What is the p99 latency objective of {rng.choice(names)}? ({label} {i})"
                         for i in range(args.queries + 1)]  # fmt: skip
            times = []
            for question in questions:
                t = time.perf_counter()
                if label == "pipeline":
                    rag.ask(question)
                else:
                    rag.retriever.search(question, mode=label, k=20)  # type: ignore[arg-type]
                times.append((time.perf_counter() - t) * 1000)
            times = times[1:]
            rows.append({"stage": label, "p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(percentile(times, 95), 1)})  # fmt: skip

    result = {
        "chunks": chunks,
        "documents": len(report.added),
        "model_load_s": round(load_s, 1),
        "ingest_s": round(ingest_s, 1),
        "ingest_chunks_per_s": round(chunks / ingest_s, 1),
        "bare_encode_chunks_per_s": round(len(texts) / encode_s, 1),
        "ingest_share_of_encode": round((chunks / ingest_s) / (len(texts) / encode_s), 3),
        "index_mb": round(index_mb, 1),
        "queries": args.queries,
        "latency": rows,
        "python": sys.version.split()[0],
    }
    print(f"| index | {chunks} chunks from {len(report.added)} documents |")
    print("|---|---:|")
    print(f"| model load | {load_s:.1f} s |")
    print(f"| ingest | {ingest_s:.1f} s, {chunks / ingest_s:.0f} chunks/s |")
    print(f"| bare MiniLM encode, same texts | {len(texts) / encode_s:.0f} chunks/s |")
    print(f"| ingest / bare encode | {result['ingest_share_of_encode']:.0%} |")
    print(f"| index on disk | {index_mb:.1f} MB |")
    print()
    print("| query (k=20 candidates) | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row['stage']} | {row['p50_ms']} | {row['p95_ms']} |")
    (Path(__file__).parent / "bench_rag.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
