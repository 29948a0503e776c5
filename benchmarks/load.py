"""Service load on loopback: `prismrec serve` with the ml-100k hybrid pipeline + DPP. Writes BENCHMARKS.md.

Fits `configs/ml-100k-best.toml` (two-tower over MiniLM item vectors) with `[rerank] name = "dpp"`
added on all of ml-100k, saves it, starts `prismrec serve` in a subprocess and drives it with httpx
(asyncio, keep-alive connections) at 1, 8 and 32 concurrent clients:

- reads: `GET /v1/users/{random known user}/recommendations?k=10` for `--seconds` per level;
- ingest: `POST /v1/events` batches of 100 events (random known user and item) for `--seconds` per level.

Every client sends its next request as soon as the previous answer arrives (closed loop); latency is
measured by the client, from send to the parsed JSON. A warm-up second per level is not counted.
The load generator runs on the same machine as the server and shares its cores.

    PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        .venv/bin/python benchmarks/load.py [--seconds 15] [--clients 1,8,32] [--model DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from language_model import write_section

from prismrec.serving.process import ServerProcess
from prismrec.serving.store import Store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "ml-100k-best.toml"
MARKER = "load"
HEADING = "## Service load (loopback)"
GOAL_RPS, GOAL_P99_MS = 1000.0, 20.0
BATCH = 100
EVENT_TYPES = ("view", "click", "cart", "purchase")


def fit_model(folder: Path) -> tuple[list[str], list[str]]:
    """Fit the ml-100k hybrid + DPP pipeline on all of ml-100k into `folder`; returns (user ids, item ids)."""
    from prismrec.core.config import PipelineConfig
    from prismrec.core.persistence import save_pipeline
    from prismrec.data.registry import load_dataset

    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    data["rerank"] = {"name": "dpp"}
    config = PipelineConfig.from_dict(data, f"{CONFIG.name} + [rerank] dpp")
    dataset = load_dataset("ml-100k")
    started = time.perf_counter()
    save_pipeline(config.fit(dataset.interactions, dataset.catalog), folder)
    print(f"fitted {config.scorer.name} + dpp on ml-100k in {time.perf_counter() - started:.0f} s", flush=True)
    return ids_of(folder)


def search_queries(folder: Path, n: int = 200) -> list[str]:
    """Two-word queries drawn from the catalogue's titles (deterministic)."""
    import json

    titles = json.loads((folder / "items.json").read_text(encoding="utf-8"))["titles"]
    words = sorted({w.strip(",.:()").lower() for t in titles for w in t.split() if len(w) > 3 and w.isalpha()})
    rng = random.Random(0)
    return [" ".join(rng.sample(words, 2)) for _ in range(n)]


def ids_of(folder: Path) -> tuple[list[str], list[str]]:
    """The known user and item ids of a saved pipeline."""
    from prismrec.core.persistence import load_pipeline

    pipeline = load_pipeline(folder)
    return [str(u) for u in pipeline.user_ids.ids], [str(i) for i in pipeline.item_ids.ids]


@dataclass
class Level:
    """What one concurrency level measured."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms, successful requests
    errors: int = 0
    server_cores: float = 0.0  # CPU seconds of the server process per wall second
    client_cores: float = 0.0  # the same for the load generator

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(url: str, server_pid: int, clients: int, seconds: float, warmup: float,
                request: Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]) -> Level:  # fmt: skip
    """`clients` closed-loop clients sending `request` for warm-up + `seconds`; only the latter counts."""
    level = Level(clients)
    cpu: dict[str, float] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
        start = time.perf_counter()
        counted_from, until = start + warmup, start + warmup + seconds

        async def meter() -> None:
            await asyncio.sleep(max(counted_from - time.perf_counter(), 0.0))
            cpu["server"], cpu["client"] = cpu_seconds(server_pid), time.process_time()

        async def one(n: int) -> None:
            rng = random.Random(n)
            while (now := time.perf_counter()) < until:
                try:
                    response = await request(client, rng)
                    response.json()
                    ok = response.status_code < 300
                except httpx.HTTPError:
                    ok = False
                if now >= counted_from:
                    if ok:
                        level.latencies.append((time.perf_counter() - now) * 1000.0)
                    else:
                        level.errors += 1

        await asyncio.gather(meter(), *(one(n) for n in range(clients)))
        level.seconds = time.perf_counter() - counted_from
        level.server_cores = (cpu_seconds(server_pid) - cpu["server"]) / level.seconds
        level.client_cores = (time.process_time() - cpu["client"]) / level.seconds
    return level


def recommendation_request(users: list[str]) -> Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]:
    def request(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.get(f"/v1/users/{rng.choice(users)}/recommendations", params={"k": 10})

    return request


def search_request(queries: list[str]) -> Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]:
    def request(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.get("/v1/search", params={"q": rng.choice(queries), "k": 10})

    return request


def ingest_request(users: list[str], items: list[str],
                   key: str) -> Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]:  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}

    def request(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        events = [{"user_id": rng.choice(users), "item_id": rng.choice(items), "type": rng.choice(EVENT_TYPES)}
                  for _ in range(BATCH)]  # fmt: skip
        return client.post("/v1/events", json={"events": events}, headers=headers)

    return request


def clients_text(n: int) -> str:
    return f"{n} client" if n == 1 else f"{n} clients"


def table(reads: list[Level], ingest: list[Level], searches: list[Level], model: str, fit_note: str,
          load_before: float) -> list[str]:  # fmt: skip
    """The markdown section: setup, results, the goal and how far it is met."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")  # fmt: skip
    lines = [
        f"`benchmarks/load.py`: `prismrec serve` (one uvicorn worker) with {model} on all of ml-100k{fit_note}, "
        f"driven over loopback by httpx (asyncio, keep-alive, closed loop: each client sends its next request when "
        f"the previous answer arrives). {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}. "
        "**The load generator runs on the same machine and competes with the server for the same 2 cores**, so "
        "these numbers understate what the server does with the machine to itself. Latency is measured by the "
        f"client (send to parsed JSON); {reads[0].seconds:.0f} s per level after a 1 s warm-up. Load average "
        f"before the run: {load_before:.1f} (other work on the machine takes cores too). Latencies of event batches "
        "are per batch of 100.",
        "",
        "| clients | workload | throughput | p50 ms | p99 ms | errors | server CPU (cores) | generator CPU (cores) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for read in reads:
        lines.append(f"| {read.clients} | `GET` recommendations, k = 10 | {read.rate:,.0f} req/s "
                     f"| {read.percentile(50):.1f} | {read.percentile(99):.1f} | {read.errors} "
                     f"| {read.server_cores:.2f} | {read.client_cores:.2f} |")  # fmt: skip
    for found in searches:
        lines.append(f"| {found.clients} | `GET` search (BM25 + vectors, default fusion), k = 10 "
                     f"| {found.rate:,.0f} req/s "
                     f"| {found.percentile(50):.1f} | {found.percentile(99):.1f} | {found.errors} "
                     f"| {found.server_cores:.2f} | {found.client_cores:.2f} |")  # fmt: skip
    for write in ingest:
        lines.append(f"| {write.clients} | `POST` events, batches of {BATCH} | {write.rate * BATCH:,.0f} events/s "
                     f"({write.rate:,.0f} batches/s) | {write.percentile(50):.1f} | {write.percentile(99):.1f} "
                     f"| {write.errors} | {write.server_cores:.2f} | {write.client_cores:.2f} |")  # fmt: skip
    best = max(reads, key=lambda level: level.rate)
    within = [level for level in reads if level.percentile(99) <= GOAL_P99_MS]
    best_within = max(within, key=lambda level: level.rate) if within else None
    met = best_within is not None and best_within.rate >= GOAL_RPS
    verdict = (f"the highest throughput is {best.rate:,.0f} req/s at {clients_text(best.clients)} "
               f"(p99 {best.percentile(99):.1f} ms); ")  # fmt: skip
    if best_within is None:
        verdict += f"no level keeps p99 ≤ {GOAL_P99_MS:.0f} ms."
    else:
        verdict += (f"with p99 ≤ {GOAL_P99_MS:.0f} ms the best is {best_within.rate:,.0f} req/s "
                    f"at {clients_text(best_within.clients)}.")  # fmt: skip
    lines += [
        "",
        f"Goal: ≥ {GOAL_RPS:,.0f} recommendation req/s with p99 ≤ {GOAL_P99_MS:.0f} ms on this 2-core machine "
        f"(load generator included). {'**Met**' if met else '**Not met**'}: {verdict}",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per level and workload")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels")
    parser.add_argument("--model", type=Path, default=None, help="an already fitted pipeline folder (skips the fit)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="prismrec-load-") as scratch:
        work = Path(scratch)
        if args.model is None:
            model = work / "model"
            users, items = fit_model(model)
        else:
            model = args.model
            users, items = ids_of(model)
        db = work / "service.db"
        key = Store(db).create_key("load")
        server = ServerProcess(model, db, work / "server.log").start()
        url, pid = server.url, server.process.pid if server.process is not None else 0
        try:
            reads, ingest, searches = [], [], []
            for clients in levels:
                level = asyncio.run(drive(url, pid, clients, args.seconds, 1.0, recommendation_request(users)))
                print(f"reads   {clients:>3} clients: {level.rate:8.0f} req/s  p50 {level.percentile(50):6.1f} ms  "
                      f"p99 {level.percentile(99):6.1f} ms  errors {level.errors}", flush=True)  # fmt: skip
                reads.append(level)
            queries = search_queries(model)
            for clients in levels[:2]:
                level = asyncio.run(drive(url, pid, clients, args.seconds, 1.0, search_request(queries)))
                print(f"search  {clients:>3} clients: {level.rate:8.0f} req/s  p50 {level.percentile(50):6.1f} ms  "
                      f"p99 {level.percentile(99):6.1f} ms  errors {level.errors}", flush=True)  # fmt: skip
                searches.append(level)
            for clients in levels:
                writes = ingest_request(users, items, key)
                level = asyncio.run(drive(url, pid, clients, args.seconds, 1.0, writes))
                print(f"ingest  {clients:>3} clients: {level.rate * BATCH:8.0f} events/s  "
                      f"p50 {level.percentile(50):6.1f} ms  p99 {level.percentile(99):6.1f} ms  "
                      f"errors {level.errors}", flush=True)  # fmt: skip
                ingest.append(level)
        finally:
            server.stop()
    name = "two-tower (MiniLM item vectors) + DPP"
    note = "" if args.model is None else " (fitted from `configs/ml-100k-best.toml` + `[rerank] name = \"dpp\"`)"
    lines = table(reads, ingest, searches, name, note, load_before)
    print("\n".join(lines))
    if not args.no_write:
        write_section(args.out, MARKER, lines, heading=HEADING)
        print(f"wrote the {MARKER} section of {args.out}")


if __name__ == "__main__":
    main()
