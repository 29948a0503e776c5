"""Bundle endpoints over loopback: `prismrec serve` with a `prismrec bundles fit` model. Writes BENCHMARKS.md.

Two models, fitted here on all of the dataset:
- bundlerec-electronic: `prismrec bundles fit` defaults (EASE items, MiniLM item vectors, fused bundle scorer);
- youshu: `configs/youshu-bundles.toml`'s fused scorer with most-popular single items (32,770 items are beyond
  a dense item–item EASE here) and no text (Youshu has none).

Closed-loop clients (`benchmarks/load.py`'s `drive`) on the same machine as the server, for `--seconds` per
workload after a warm-up (5 s of one client per workload, not counted: the first intent loads MiniLM):
`GET /v1/users/{random known user}/bundles?k=10`, and
`POST /v1/bundles/generate` with k = 4 from a random item (and, on bundlerec, from a random crowd intent).

    PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/bundle_service.py [--seconds 10] [--clients 1,8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from language_model import write_section
from load import Level, drive

from prismrec.bundles.pipeline_bundles import PipelineBundles
from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import save_pipeline
from prismrec.data.registry import load_dataset
from prismrec.semantic.encoder import EncoderParams
from prismrec.serving.process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ("`PRISMREC_DATA_HOME=../shared/data PRISMREC_CACHE_DIR=/tmp/embcache OPENBLAS_NUM_THREADS=1 "
           "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bundle_service.py`")  # fmt: skip
Request = Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]


def fit(name: str, folder: Path) -> tuple[list[str], list[str], list[str], str]:
    """Fit the dataset's pipeline with bundles into `folder`; (user ids, item ids, intents, description)."""
    data = load_dataset(name)
    if name == "youshu":
        bundles = tomllib.loads((ROOT / "configs" / "youshu-bundles.toml").read_text(encoding="utf-8"))["bundles"]
        config = PipelineConfig.from_dict({"scorer": {"name": "most-popular"}, "bundles": bundles})
        described = "most-popular items + fused bundles (configs/youshu-bundles.toml), no text"
    else:
        config = PipelineConfig.from_dict({"scorer": {"name": "ease"}, "bundles": {"name": "fused"}})
        config = PipelineConfig(config.scorer, encoder=EncoderParams(), bundles=config.bundles)
        described = "EASE items + MiniLM vectors + fused bundles (`prismrec bundles fit` defaults)"
    pipeline = config.fit(data.interactions, data.catalog)
    save_pipeline(pipeline, folder)
    PipelineBundles.fit(pipeline, data).save(folder)
    assert data.bundles is not None
    users = sorted({str(data.interactions.user_ids.ids[u]) for u, _ in data.bundles.user_bundles.get(
        "train", data.bundles.user_bundles.get("all"))})  # fmt: skip
    items = [str(i) for i in data.catalog.item_ids.ids]
    intents = sorted({name for name in data.bundles.names if name.strip()})
    return users, items, intents, described


def bundles_request(users: list[str]) -> Request:
    def request(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.get(f"/v1/users/{rng.choice(users)}/bundles", params={"k": 10})

    return request


def generate_request(field: str, values: list[str]) -> Request:
    def request(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        value = rng.choice(values)
        return client.post("/v1/bundles/generate", json={field: [value] if field == "item_ids" else value, "k": 4})

    return request


def row(dataset: str, workload: str, level: Level) -> str:
    return (f"| {dataset} | {workload} | {level.clients} | {level.rate:,.0f} req/s | {level.percentile(50):.1f} "
            f"| {level.percentile(99):.1f} | {level.errors} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    rows, models = [], []
    for dataset in ("bundlerec-electronic", "youshu"):
        with tempfile.TemporaryDirectory(prefix="prismrec-bundles-") as scratch:
            work = Path(scratch)
            users, items, intents, described = fit(dataset, work / "model")
            models.append(f"{dataset}: {described}")
            server = ServerProcess(work / "model", work / "service.db", work / "server.log").start()
            pid = server.process.pid if server.process is not None else 0
            workloads = [("GET bundles, k = 10", bundles_request(users)),
                         ("POST generate from an item, k = 4", generate_request("item_ids", items))]  # fmt: skip
            if intents:
                workloads.append(("POST generate from an intent, k = 4", generate_request("intent", intents)))
            try:
                for workload, request in workloads:
                    asyncio.run(drive(server.url, pid, 1, 0.5, 5.0, request))  # loads the encoder on first use
                    for clients in levels:
                        level = asyncio.run(drive(server.url, pid, clients, args.seconds, 1.0, request))
                        rows.append(row(dataset, workload, level))
                        print(rows[-1], flush=True)
            finally:
                server.stop()
    lines = [
        f"{COMMAND} ({args.seconds:.0f} s per row after a warm-up; load average {os.getloadavg()[0]:.1f} at "
        "the end; client and server share the 2 cores). Models: " + "; ".join(models) + ".",
        "",
        "| dataset | workload | clients | throughput | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section(args.out, "bundle-service", lines, heading="## Bundle endpoints (loopback)")


if __name__ == "__main__":
    main()
