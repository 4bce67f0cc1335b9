"""The measurements behind the table, one function per suite.

Each takes the running `Bench` and returns its rows; the details (every percentile, every
level of a ramp) go to `bench.details[suite]` and so into `results/latest.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
import openai

from benchmarks.client import Stream, StreamResult, open_stream, stream_once
from benchmarks.processes import (
    Process,
    assistant_command,
    assistant_env,
    free_port,
    scratch,
    spawn,
    wait_healthy,
)
from benchmarks.row import Row
from benchmarks.targets import USER_TEXT, Conversation, Database, Target, history_messages

if TYPE_CHECKING:
    from benchmarks.suite import Bench

__all__ = [
    "measure_burst",
    "measure_cpu",
    "measure_history",
    "measure_memory",
    "measure_startup",
    "measure_streams",
    "measure_ttft",
    "percentile",
]

MB = 1024 * 1024


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile by nearest rank (p99 of 300 samples: the 4th largest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _targets(bench: Bench) -> list[Target]:
    return [t for t in (bench.upstream.direct, bench.ours, bench.litellm) if t is not None]


async def _one(
    target: Target, conversation: Conversation, model: str, limit: float = 30
) -> StreamResult:
    path, body = target.request(conversation, model)
    return await stream_once(target.endpoint, path, body, limit=limit, keep_lateness=False)


async def _sdk_ttft(client: openai.AsyncOpenAI, conversation: Conversation, model: str) -> float:
    messages: Any = [*conversation.history, {"role": "user", "content": USER_TEXT}]
    began = time.perf_counter_ns()
    first: int | None = None
    stream = await client.chat.completions.create(model=model, messages=messages, stream=True)
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter_ns()
    assert first is not None, "the direct SDK call streamed no content"
    return (first - began) / 1e6


def _errors(results: Sequence[StreamResult]) -> list[str]:
    return [r.error or f"incomplete (HTTP {r.status})" for r in results if not r.ok]


# --- time to first token at a 100-message history ------------------------------------------


async def measure_ttft(bench: Bench) -> list[Row]:
    """Added TTFT: each target's TTFT minus the direct call's, requests interleaved."""
    per_conversation = 5
    conversations = bench.pick(60, 12, 2)
    model = "bench-c5-d0"
    ours = bench.ours
    assert ours is not None
    ours_convs = await ours.conversations(conversations, history=100)
    stateless = Conversation("", history_messages(100))
    for conv in ours_convs:  # the first turn reads the history from the database
        result = await _one(ours, conv, model)
        if not result.ok:
            raise RuntimeError(f"our server failed a warm-up request: {result.error}")
    samples: dict[str, list[float]] = {t.name: [] for t in _targets(bench)}
    samples["sdk"] = []
    errors: dict[str, list[str]] = {name: [] for name in samples}
    sdk = bench.sdk_client()
    for _ in range(3):
        await _sdk_ttft(sdk, stateless, model)
    targets = _targets(bench)
    for index in range(conversations * per_conversation):
        conv = ours_convs[index // per_conversation]
        order: list[Target | None] = [*targets, None]
        random.Random(index).shuffle(order)
        for target in order:
            if target is None:
                samples["sdk"].append(await _sdk_ttft(sdk, stateless, model))
                continue
            result = await _one(target, conv if target is ours else stateless, model)
            if result.ok and result.ttft_ms is not None:
                samples[target.name].append(result.ttft_ms)
            else:
                errors[target.name].append(result.error or "no content")
    stats = {
        name: {"p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99), "n": len(v)}
        for name, v in samples.items()
    }
    wire = stats["direct"]

    def added(name: str, key: str) -> float | None:
        """Over a bare HTTP call to the upstream made by the same client: the relay's cost."""
        if name not in stats or not samples[name]:
            return None
        return stats[name][key] - wire[key]

    bench.details["ttft"] = {"history": 100, "stats": stats, "errors": errors}
    note = (
        f"floor: the OpenAI SDK calling the upstream. Added = TTFT minus a bare HTTP request "
        f"to the upstream from the same client (p50 {wire['p50_ms']:.2f} ms, "
        f"p99 {wire['p99_ms']:.2f} ms); the floor column there is what the SDK call adds"
    )
    return [
        Row(
            "ttft.p50",
            "TTFT p50, 100-msg history, auth + persistence (ms)",
            ours=stats["ours"]["p50_ms"],
            floor=stats["sdk"]["p50_ms"],
            litellm=stats.get("litellm", {}).get("p50_ms"),
            unit="ms",
            note=note,
        ),
        Row(
            "ttft.added_p50",
            "  added TTFT p50 (ms)",
            ours=added("ours", "p50_ms"),
            floor=added("sdk", "p50_ms"),
            litellm=added("litellm", "p50_ms"),
            target=1.5,
            unit="ms",
        ),
        Row(
            "ttft.added_p99",
            "  added TTFT p99 (ms)",
            ours=added("ours", "p99_ms"),
            floor=added("sdk", "p99_ms"),
            litellm=added("litellm", "p99_ms"),
            target=4.0,
            unit="ms",
        ),
    ]


# --- TTFT at 10 versus 1,000 messages of history ----------------------------------------------


async def measure_history(bench: Bench) -> list[Row]:
    """TTFT at a 1,000-message history over the 10-message one (warm turns, p50)."""
    turns = bench.pick(30, 8, 2)
    model = "bench-c5-d0"
    ours = bench.ours
    assert ours is not None
    sizes = (10, 1000)
    convs = {size: (await ours.conversations(1, history=size))[0] for size in sizes}
    cold = {}
    for size, conv in convs.items():  # the first turn reads the whole history from the database
        result = await _one(ours, conv, model)
        cold[size] = result.ttft_ms
    samples: dict[tuple[str, int], list[float]] = {}
    errors: list[str] = []
    sdk = bench.sdk_client()
    for index in range(turns):
        order: list[tuple[Target | None, int]] = [
            (t, size) for t in [*_targets(bench), None] for size in sizes
        ]
        random.Random(index).shuffle(order)
        for target, size in order:
            if target is None:
                conv = Conversation("", history_messages(size))
                samples.setdefault(("sdk", size), []).append(await _sdk_ttft(sdk, conv, model))
                continue
            conv = convs[size] if target is ours else Conversation("", history_messages(size))
            result = await _one(target, conv, model)
            if result.ok and result.ttft_ms is not None:
                samples.setdefault((target.name, size), []).append(result.ttft_ms)
            else:
                errors.append(f"{target.name}/{size}: {result.error}")

    def ratio(name: str) -> float | None:
        small, large = samples.get((name, 10)), samples.get((name, 1000))
        if not small or not large:
            return None
        return statistics.median(large) / statistics.median(small)

    bench.details["history"] = {
        "p50_ms": {f"{name}/{size}": statistics.median(v) for (name, size), v in samples.items()},
        "ours_cold_first_turn_ms": cold,
        "errors": errors,
    }
    p50 = bench.details["history"]["p50_ms"]
    note = (
        f"p50 ours {p50.get('ours/10', 0):.1f} → {p50.get('ours/1000', 0):.1f} ms, "
        f"SDK {p50.get('sdk/10', 0):.1f} → {p50.get('sdk/1000', 0):.1f} ms, "
        f"bare HTTP {p50.get('direct/10', 0):.2f} → {p50.get('direct/1000', 0):.2f} ms; "
        f"ours' first turn after a restart (history read from the database) "
        f"{cold[1000] or 0:.0f} ms"
    )
    return [
        Row(
            "history.ratio",
            "TTFT at 1,000 msgs ÷ at 10 msgs (p50)",
            ours=ratio("ours"),
            floor=ratio("sdk"),
            litellm=ratio("litellm"),
            target=2.0,
            unit="x",
            note=note,
        )
    ]


# --- a burst of 100 streams ----------------------------------------------------------------


async def measure_burst(bench: Bench) -> list[Row]:
    """100 streams opened at once; TTFT p99 over the rounds."""
    rounds = bench.pick(3, 1, 1)
    size = bench.pick(100, 100, 20)
    model = bench.pick("bench-c20-d50", "bench-c20-d50", "bench-c3-d50")
    ours = bench.ours
    assert ours is not None
    ours_convs = await ours.conversations(size, history=10)
    stateless = Conversation("", history_messages(10))
    ttfts: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}
    sdk = bench.sdk_client()
    for _ in range(rounds):
        sdk_ttfts = await asyncio.gather(
            *(_sdk_ttft(sdk, stateless, model) for _ in range(size)), return_exceptions=True
        )
        ttfts.setdefault("sdk", []).extend(t for t in sdk_ttfts if isinstance(t, float))
        errors.setdefault("sdk", []).extend(repr(t) for t in sdk_ttfts if not isinstance(t, float))
        await asyncio.sleep(bench.pick(0.5, 0.5, 0.1))
        for target in _targets(bench):
            convs = ours_convs if target is ours else [stateless] * size
            results = await asyncio.gather(*(_one(target, c, model, limit=60) for c in convs))
            ttfts.setdefault(target.name, []).extend(
                r.ttft_ms for r in results if r.ttft_ms is not None
            )
            errors.setdefault(target.name, []).extend(_errors(results))
            await asyncio.sleep(bench.pick(0.5, 0.5, 0.1))
    p99 = {name: percentile(v, 0.99) if len(v) else None for name, v in ttfts.items()}
    bench.details["burst"] = {
        "streams": size,
        "rounds": rounds,
        "p50_ms": {name: percentile(v, 0.5) for name, v in ttfts.items()},
        "p99_ms": p99,
        "errors": {name: e[:5] for name, e in errors.items()},
        "error_counts": {name: len(e) for name, e in errors.items()},
    }
    failed = {name: len(e) for name, e in errors.items() if e}
    note = (
        "floor: 100 SDK calls from one process (its CPU is the limit); "
        f"100 bare HTTP requests: p99 {p99.get('direct') or 0:.1f} ms"
    )
    if failed:
        note += f"; failed streams: {failed}"
    return [
        Row(
            "burst.p99",
            "burst of 100 streams: TTFT p99 (ms)",
            ours=None if failed.get("ours") else p99.get("ours"),
            floor=p99.get("sdk"),
            litellm=None if failed.get("litellm") else p99.get("litellm"),
            target=100.0,
            unit="ms",
            note=note,
        )
    ]


# --- CPU per relayed chunk -----------------------------------------------------------------


async def _cpu_run(
    target: Target, convs: list[Conversation], model: str, concurrency: int
) -> tuple[float, int, float]:
    """(CPU seconds of the target's process, chunks relayed, wall seconds) for the streams."""
    assert target.process is not None
    limit = asyncio.Semaphore(concurrency)

    async def one(conv: Conversation) -> StreamResult:
        async with limit:
            return await _one(target, conv, model, limit=120)

    began_cpu, began = target.process.cpu_seconds(), time.monotonic()
    results = await asyncio.gather(*(one(c) for c in convs))
    wall = time.monotonic() - began
    cpu = target.process.cpu_seconds() - began_cpu
    failed = _errors(results)
    if failed:
        raise RuntimeError(f"{target.name}: {len(failed)} streams failed: {failed[0]}")
    return cpu, sum(r.chunks for r in results), wall


async def measure_cpu(bench: Bench) -> list[Row]:
    """The slope of CPU time over chunks: long answers minus short ones, idle CPU removed."""
    streams = bench.pick(60, 20, 5)
    concurrency = 20
    long_model = bench.pick("bench-c200-d10", "bench-c200-d10", "bench-c50-d10")
    short_model = bench.pick("bench-c20-d10", "bench-c20-d10", "bench-c5-d10")
    figures: dict[str, dict[str, float]] = {}
    for target in [t for t in (bench.ours, bench.litellm) if t is not None]:
        assert target.process is not None
        idle_seconds = bench.pick(2.0, 2.0, 0.5)
        idle_began = target.process.cpu_seconds()
        await asyncio.sleep(idle_seconds)
        idle_rate = (target.process.cpu_seconds() - idle_began) / idle_seconds
        runs = {}
        for model in (short_model, long_model):
            if target is bench.ours:
                convs = await bench.ours.conversations(streams)
            else:
                convs = [Conversation("", [])] * streams
            runs[model] = await _cpu_run(target, convs, model, concurrency)
        (cpu_l, chunks_l, wall_l), (cpu_s, chunks_s, wall_s) = runs[long_model], runs[short_model]
        slope = ((cpu_l - idle_rate * wall_l) - (cpu_s - idle_rate * wall_s)) / (
            chunks_l - chunks_s
        )
        figures[target.name] = {
            "per_chunk_us": slope * 1e6,
            "per_request_ms": ((cpu_s - idle_rate * wall_s) / streams - slope * chunks_s / streams)
            * 1e3,
            "average_us_200_chunk_answers": cpu_l / chunks_l * 1e6,
            "idle_cpu_percent": idle_rate * 100,
        }
    floor_runs = {}
    for model in (short_model, long_model):
        floor_runs[model] = await bench.floor(
            "cpu", "--streams", str(streams), "--concurrency", str(concurrency), "--model", model
        )
    fl, fs = floor_runs[long_model], floor_runs[short_model]
    floor_slope = (fl["cpu_seconds"] - fs["cpu_seconds"]) / (fl["chunks"] - fs["chunks"])
    figures["direct_sdk"] = {"per_chunk_us": floor_slope * 1e6}
    bench.details["cpu"] = figures
    ours = figures.get("ours", {})
    return [
        Row(
            "cpu.per_chunk",
            "CPU per relayed chunk (µs)",
            ours=ours.get("per_chunk_us"),
            floor=floor_slope * 1e6,
            litellm=figures.get("litellm", {}).get("per_chunk_us"),
            target=60.0,
            unit="µs",
            note=(
                f"floor: the SDK consuming the stream; ours also spends "
                f"{ours.get('per_request_ms', 0):.1f} ms CPU per request"
            ),
        )
    ]


# --- memory --------------------------------------------------------------------------------


async def _release(bench: Bench) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(f"http://127.0.0.1:{bench.upstream.port}/_release")


async def _per_stream(bench: Bench, target: Target, count: int) -> dict[str, float]:
    """RSS growth per open stream: `count` streams held open past their first chunk."""
    assert target.process is not None
    model = "bench-c3-d10-h1"
    if target is bench.ours:
        convs = await bench.ours.conversations(count + 10)
    else:
        convs = [Conversation("", [])] * (count + 10)
    warm = await asyncio.gather(*(_one(target, c, "bench-c3-d0") for c in convs[:10]))
    if _errors(warm):
        raise RuntimeError(f"{target.name} failed a warm-up request: {_errors(warm)[0]}")
    settle = bench.pick(1.0, 1.0, 0.3)
    await asyncio.sleep(settle)
    before = target.process.rss_bytes()
    opening = asyncio.Semaphore(50)
    handles: list[Stream] = []

    async def hold(conv: Conversation) -> None:
        async with opening:
            path, body = target.request(conv, model)
            stream = await open_stream(target.endpoint, path, body, keep_lateness=False)
            handles.append(stream)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stream.first), 30)

    try:
        await asyncio.wait_for(asyncio.gather(*(hold(c) for c in convs[10:])), 60)
    except TimeoutError:
        pass
    await asyncio.sleep(settle)
    during = target.process.rss_bytes()
    open_now = sum(1 for s in handles if s.result.first is not None and not s.ended.done())
    await _release(bench)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(s.ended for s in handles)), 60)
    await asyncio.sleep(settle / 2)
    return {
        "before_mb": before / MB,
        "during_mb": during / MB,
        "open_streams": open_now,
        "per_stream_kb": (during - before) / max(open_now, 1) / 1024,
    }


async def measure_memory(bench: Bench) -> list[Row]:
    """Idle RSS (measured at startup, after one request) and RSS per open stream."""
    count = bench.pick(500, 100, 20)
    per_stream: dict[str, dict[str, float]] = {}
    for target in [t for t in (bench.ours, bench.litellm) if t is not None]:
        per_stream[target.name] = await _per_stream(bench, target, count)
    floor = await bench.floor("memory", "--streams", str(count), "--model", "bench-c3-d10-h1")
    await _release(bench)
    floor_per_stream = (floor["during"] - floor["before"]) / floor["streams"] / 1024
    idle = bench.idle_rss
    bench.details["memory"] = {
        "idle_mb": idle,
        "per_stream": per_stream,
        "direct_sdk_per_stream_kb": floor_per_stream,
    }
    return [
        Row(
            "memory.idle",
            "idle memory, RSS after one request (MB)",
            ours=idle.get("ours"),
            floor=idle.get("direct_sdk"),
            litellm=idle.get("litellm"),
            target=120.0,
            unit="MB",
            note="floor: a Python process with the OpenAI SDK after one call",
        ),
        Row(
            "memory.per_stream",
            "memory per open stream (KB)",
            ours=per_stream.get("ours", {}).get("per_stream_kb"),
            floor=floor_per_stream,
            litellm=per_stream.get("litellm", {}).get("per_stream_kb"),
            target=50.0,
            unit="KB",
            note=f"{count} streams held open; floor: the SDK holding as many",
        ),
    ]


# --- live streams held ---------------------------------------------------------------------

LADDER = [10, 20, 30, 50, 100, 200, 300, 500, 700, 1000, 1500, 2000]
QUICK_LADDER = [10, 20, 50, 100]
SMOKE_LADDER = [5, 10]
SLACK_NS = 100_000_000


async def _level(
    bench: Bench, target: Target, count: int, convs: list[Conversation]
) -> dict[str, Any]:
    """`count` live 20 tok/s streams through `target` beside a few direct ones."""
    chunks = bench.pick(200, 60, 20)
    model = f"bench-c{chunks}-d50"
    ramp = min(bench.pick(2.0, 1.0, 0.2), count * 0.02)
    probes = max(5, count // 20)
    direct = bench.upstream.direct
    # Lateness counts while every stream is live: from just after the last one started until
    # the first one ends. Opening and closing runs are measured by TTFT, burst and CPU.
    began = time.monotonic_ns()
    window = range(began + int((ramp + 0.5) * 1e9), began + int(chunks * 0.05 * 1e9))
    limit = ramp + chunks * 0.05 + 30
    plan = [(target, conv) for conv in convs[:count]] + [
        (direct, Conversation("", [])) for _ in range(probes)
    ]
    random.Random(count).shuffle(plan)

    async def one(index: int, who: Target, conv: Conversation) -> tuple[str, StreamResult]:
        await asyncio.sleep(ramp * index / len(plan))
        path, body = who.request(conv, model)
        result = await stream_once(who.endpoint, path, body, limit=limit, window=window)
        return who.name, result

    # The generator's own garbage collection would stall every stream it reads (a full
    # collection takes tens of milliseconds here): none while the level runs.
    gc.collect()
    gc.disable()
    try:
        outcomes = await asyncio.gather(*(one(i, who, conv) for i, (who, conv) in enumerate(plan)))
    finally:
        gc.enable()
    late: dict[str, list[int]] = {target.name: [], direct.name: []}
    errors: dict[str, list[str]] = {target.name: [], direct.name: []}
    for name, result in outcomes:
        if not result.ok:
            errors[name].append(result.error or "incomplete")
        late[name].extend(result.lateness)
    target_p99 = percentile(late[target.name], 0.99) / 1e6 if late[target.name] else float("inf")
    direct_p99 = percentile(late[direct.name], 0.99) / 1e6 if late[direct.name] else float("inf")
    held = not errors[target.name] and target_p99 <= direct_p99 + SLACK_NS / 1e6
    return {
        "streams": count,
        "held": held,
        "p99_lateness_ms": target_p99,
        "p50_lateness_ms": percentile(late[target.name], 0.5) / 1e6 if late[target.name] else None,
        "direct_p99_lateness_ms": direct_p99,
        "errors": len(errors[target.name]),
        "first_error": errors[target.name][0] if errors[target.name] else None,
        "direct_errors": len(errors[direct.name]),
    }


async def _ramp(bench: Bench, target: Target, start: int) -> tuple[int, list[dict[str, Any]]]:
    """The largest level of the ladder the target holds, going up from `start` (or down)."""
    ladder = bench.pick(LADDER, QUICK_LADDER, SMOKE_LADDER)
    index = ladder.index(start) if start in ladder else 0
    if target is bench.ours:
        convs = await bench.ours.conversations(ladder[-1])
    else:
        convs = [Conversation("", [])] * ladder[-1]
    levels = []
    held = 0
    first = await _level(bench, target, ladder[index], convs)
    levels.append(first)
    step = 1 if first["held"] else -1
    if first["held"]:
        held = ladder[index]
    index += step
    while 0 <= index < len(ladder):
        await asyncio.sleep(1.0)
        level = await _level(bench, target, ladder[index], convs)
        levels.append(level)
        if step > 0 and not level["held"]:
            break
        if level["held"]:
            held = max(held, ladder[index])
            if step < 0:
                break
        index += step
    return held, levels


async def measure_streams(bench: Bench) -> list[Row]:
    """Live 20 tok/s streams one process holds on one core, p99 lateness ≤ direct + 100 ms."""
    results: dict[str, Any] = {}
    for target, start in ((bench.ours, bench.pick(100, 50, 10)), (bench.litellm, 20)):
        if target is None:
            continue
        held, levels = await _ramp(bench, target, start)
        results[target.name] = {"held": held, "levels": levels}
    bench.details["streams"] = results
    ours = results.get("ours", {})
    top = bench.level == "full" and ours.get("held") == LADDER[-1]
    direct_p99 = [lv["direct_p99_lateness_ms"] for lv in ours.get("levels", [])]
    return [
        Row(
            "streams.held",
            "live 20 tok/s streams held, 1 process, 1 core",
            ours=ours.get("held"),
            floor=None,
            litellm=results.get("litellm", {}).get("held"),
            target=1000.0,
            better="higher",
            unit="streams",
            note=(
                ("the ladder's top: the load generator's limit, not ours; " if top else "")
                + "p99 lateness of chunks sent while all streams are live; direct streams "
                + f"beside them: {max(direct_p99, default=0):.0f} ms"
            ),
        )
    ]


# --- startup -------------------------------------------------------------------------------


async def _assistant_up(
    bench: Bench, data_dir: Any, database_url: str | None, port: int
) -> tuple[float, Process]:
    env = assistant_env(
        data_dir=data_dir,
        port=port,
        upstream_url=bench.upstream.url,
        database_url=database_url,
        model="bench-c5-d0",
    )
    process = spawn(
        f"assistant-up-{port}",
        [*assistant_command(), "up"],
        env=env,
        cwd=data_dir,
        log_dir=bench.log_dir,
        cpu=None,
    )
    try:
        seconds = await wait_healthy(process, f"http://127.0.0.1:{port}/healthz", limit=120)
    except RuntimeError:
        await asyncio.to_thread(process.stop)
        raise
    return seconds, process


async def measure_startup(bench: Bench) -> list[Row]:
    """`assistant up` until `/healthz` answers: median of three on the machine's PostgreSQL."""
    runs = bench.pick(3, 1, 0)
    database = Database()
    url = await database.create()
    timings: list[float] = []
    embedded: dict[str, float] = {}
    try:
        with scratch("bench-up-") as data_dir:
            for attempt in range(runs + 1):  # the first one migrates the fresh database
                seconds, process = await _assistant_up(bench, data_dir, url, free_port())
                await asyncio.to_thread(process.stop)
                if attempt or not runs:
                    timings.append(seconds)
        if bench.level == "full":
            with scratch("bench-up-embedded-") as data_dir:
                for label in ("first_run_s", "later_run_s"):
                    seconds, process = await _assistant_up(bench, data_dir, None, free_port())
                    await asyncio.to_thread(process.stop)
                    embedded[label] = seconds
    finally:
        await database.drop()
    median = statistics.median(timings)
    bench.details["startup"] = {
        "assistant_up_s": timings,
        "embedded_postgres": embedded,
        "litellm_s": None,
    }
    note = "with DATABASE_URL"
    if embedded:
        note += (
            f"; with the embedded PostgreSQL: {embedded['later_run_s']:.1f} s "
            f"({embedded['first_run_s']:.1f} s the first time, initdb)"
        )
    return [
        Row(
            "startup",
            "`assistant up` to healthy (s)",
            ours=median,
            floor=None,
            litellm=None,
            target=2.0,
            unit="s",
            note=note + "; LiteLLM: `litellm --config` to /health/liveliness",
        )
    ]
