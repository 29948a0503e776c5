"""Scale: fit time, peak memory and batch throughput of the scalable models on synthetic logs.

For each size a log is written with `prismrec synth` (power-law popularity, clustered interests), then
every model is fitted with `prismrec fit` and every user's top-10 written with `prismrec recommend
--all-users` (both cores, Parquet), each command run under /usr/bin/time for wall seconds and peak
resident memory (the largest process; forked recommend workers share the loaded arrays). EASE is
tried too, to show the refusal time. Writes the "scale" section of BENCHMARKS.md.

    OPENBLAS_NUM_THREADS=1 python benchmarks/scale.py [--sizes 100000,1000000,4870000] [--work /tmp/scale]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from language_model import write_section

ROOT = Path(__file__).resolve().parents[1]
PRISMREC = [sys.executable, "-m", "prismrec"]
MODELS = ("itemknn", "als", "sansa")
SHAPES = {  # events -> (users, items): the 4.87M point is the shape a shop reported
    100_000: (10_000, 5_000),
    1_000_000: (50_000, 20_000),
    4_870_000: (200_000, 50_000),
    20_000_000: (1_000_000, 100_000),
}


def timed(command: list[str]) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS in GB, last output line) of one command."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "PEAK %M", *command], capture_output=True, text=True,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})  # fmt: skip
    seconds = time.perf_counter() - started
    peak = re.search(r"PEAK (\d+)", done.stderr)
    lines = [line for line in (done.stdout + done.stderr).splitlines()
             if line.strip() and "PEAK" not in line and not line.startswith("Command exited")]
    return done.returncode, seconds, int(peak.group(1)) / 2**20 if peak else float("nan"), lines[-1] if lines else ""


def synth_log(folder: Path, events: int, users: int, items: int, timeout: float | None = None) -> Path:
    """A fresh `prismrec synth --seed 1` log in `folder` (interactions.csv, items.csv); returns the folder."""
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([*PRISMREC, "synth", "--users", str(users), "--items", str(items), "--events", str(events),
                    "--seed", "1", "--out", str(folder)], check=True, capture_output=True, timeout=timeout)  # fmt: skip
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,4870000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/prismrec-scale"))
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    lines = [f"Machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GB. "
             "Synthetic logs from `prismrec synth --seed 1`; top-10 for every user, Parquet, `--workers 2`.",
             "", "| events | users × items | model | fit s | fit peak GB | recommend s (incl. loading) | users/s |",
             "|---:|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for events in (int(size) for size in args.sizes.split(",")):
        users, items = SHAPES[events]
        folder = synth_log(args.work / f"e{events}", events, users, items)
        log = str(folder / "interactions.csv")
        for model in ("ease", *MODELS):
            code, fit_s, fit_gb, last = timed([*PRISMREC, "fit", "--interactions", log, "--model", model,
                                               "--out", str(folder / model)])  # fmt: skip
            if code != 0:
                lines.append(f"| {events:,} | {users:,} × {items:,} | {model} | refused in {fit_s:.0f} s "
                             f"({fit_gb:.1f} GB peak) | | `{last.removeprefix('error: ')}` | |")  # fmt: skip
                continue
            code, rec_s, _, _ = timed([*PRISMREC, "recommend", "--model", str(folder / model), "--all-users", "-k",
                                       "10", "--workers", "2", "--out", str(folder / f"{model}.parquet")])  # fmt: skip
            lines.append(f"| {events:,} | {users:,} × {items:,} | {model} | {fit_s:.0f} | {fit_gb:.1f} | "
                         f"{rec_s:.0f} | {users / rec_s:,.0f} |")  # fmt: skip
            print(lines[-1], flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    lines += ["", f"Command: `OPENBLAS_NUM_THREADS=1 python benchmarks/scale.py --sizes {args.sizes}`"]
    write_section(args.out, "scale", lines, "## Scale")


if __name__ == "__main__":
    main()
