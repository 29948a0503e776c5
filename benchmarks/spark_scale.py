"""Spark at scale: `prismrec spark fit` and `prismrec spark recommend --all-users` on synthetic logs, a fitted cost
model and a projection to 10M users × 1M items × 1B events.

For a tiny baseline log and each size (a `prismrec synth --seed 1` log of scale.SHAPES) and model: `prismrec spark fit
--json` on local[2], a `load_pipeline` of the folder, then `prismrec spark recommend --all-users -k 10` of it on
local[1] and local[2], each with partitions = cores and 4 × cores. Every command runs under /usr/bin/time (scale.timed)
while a sampler reads /proc of the whole process tree every 0.5 s: /usr/bin/time's %M is the peak of the processes it
waits for, which leaves out the JVM (the driver Python does not reap it), so the peaks reported are each process's
VmHWM (its kernel-kept high-water mark, last read ≤ 0.5 s before it exits) by role — driver Python, JVM, largest
Python worker — and the largest sampled sum of PSS over the tree. The runs are fitted by non-negative least squares:

    recommend s ≈ start + users × c_user / cores + partitions × c_part
    fit s ≈ fixed + s per event × events (Spark statistics: + s per co-occurrence pair × Σ_u n_u(n_u−1)/2)
    driver bytes ≈ fixed + bytes per event × events

and the projection derives hours and memory from those constants by the formulas it prints. Writes the "spark-scale"
section of BENCHMARKS.md (appended under its heading when missing).

    OPENBLAS_NUM_THREADS=1 python benchmarks/spark_scale.py [--sizes 100000,1000000,4870000]
        [--models itemknn,als,sansa] [--timeout 1800] [--work /tmp/prismrec-spark-scale]
        [--executors 100] [--executor-cores 4] [--driver-gb 256] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from language_model import write_section
from scale import PRISMREC, SHAPES, synth_log, timed
from scipy.optimize import nnls

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("itemknn", "als", "sansa")
BASELINE = (2_000, (200, 100))  # events -> (users, items): the fixed costs, measured on a log of almost nothing
TARGET = (10_000_000, 1_000_000, 1_000_000_000)  # users, items, events of the projection
GB, MB = 2**30, 2**20
SAMPLE_SECONDS = 0.5
BARE_SESSION = "from prismrec.spark.session import session\nwith session({master!r}):\n    pass"
LOAD = ("import json, sys, time\nfrom prismrec.core.persistence import load_pipeline\n"
        "def rss():\n    return next(int(line.split()[1]) * 1024 for line in open('/proc/self/status')\n"
        "                if line.startswith('VmRSS'))\n"
        "before, started = rss(), time.perf_counter()\npipeline = load_pipeline(sys.argv[1])\n"
        "print(json.dumps({'seconds': time.perf_counter() - started, 'bytes': rss() - before}))")  # fmt: skip
SHELL = 'out=$0; err=$1; shift; exec "$@" >"$out" 2>"$err"'  # the command's stdout and stderr to files, same process
QUIET = ("Using incubator modules",)  # stderr lines every JVM start prints


@dataclass
class Run:
    """One command: exit code, wall seconds, /usr/bin/time's %M, sampled peaks by role, stdout, stderr."""

    command: list[str]
    code: int = 0
    seconds: float = float("nan")
    time_peak: float = float("nan")  # bytes, /usr/bin/time %M
    peaks: dict[str, float] = field(default_factory=dict)  # role -> largest VmHWM in bytes
    tree_pss: float = 0.0  # largest sampled sum of PSS over the tree (shared pages counted once)
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.timed_out

    def summary(self) -> dict:
        """The --json summary the command printed ({} when there is none)."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            return {}

    def peak(self, role: str) -> float:
        return self.peaks.get(role, float("nan"))

    def problem(self, timeout: float) -> str:
        """'' for a clean run, else what went wrong or what stderr held besides the usual JVM notice."""
        if self.timed_out:
            return f"timed out after {timeout:.0f} s"
        lines = [line for line in self.stderr.splitlines() if line.strip() and not any(q in line for q in QUIET)]
        traces = sum(line.lstrip().startswith("at ") and "(" in line for line in lines)
        note = f"{traces} Java stack-trace lines on stderr" if traces else ""
        if self.code != 0:
            last = lines[-1].removeprefix("error: ") if lines else ""
            return f"exit {self.code}: `{last[:200]}`" + (f"; {note}" if note else "")
        if lines and not traces:
            note = f"{len(lines)} stderr lines, first: `{lines[0][:120]}`"
        return note


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process /proc shows."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            table[int(entry.name)] = (int(stat.rpartition(")")[2].split()[1]), cmdline)
    return table


def descendants(root: int, table: dict[int, tuple[int, str]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def role(cmdline: str) -> str:
    argv0 = Path(cmdline.split(" ", 1)[0]).name
    if argv0 == "time":
        return "time"
    if argv0 == "java":
        return "jvm"
    if "pyspark.daemon" in cmdline or "pyspark.worker" in cmdline:
        return "worker"
    return "driver" if argv0.startswith("python") else "other"


def proc_kb(pid: int, key: str, name: str = "status") -> int:
    try:
        text = Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith(key)), 0)


def run(command: list[str], timeout: float, scratch: Path) -> Run:
    """`command` under scale.timed, its process tree sampled; killed (each process by id) after `timeout` s."""
    out, err = scratch / "stdout.txt", scratch / "stderr.txt"
    result = Run(command)
    done: dict[str, tuple[int, float, float, str]] = {}
    wrapped = ["sh", "-c", SHELL, str(out), str(err), *command]
    worker = threading.Thread(target=lambda: done.update(timed=timed(wrapped)))
    started = time.perf_counter()
    worker.start()
    while worker.is_alive():
        table = processes()
        tree = descendants(os.getpid(), table)
        pss = 0
        for pid in tree:
            kind = role(table[pid][1])
            result.peaks[kind] = max(result.peaks.get(kind, 0), proc_kb(pid, "VmHWM:") * 1024)
            pss += proc_kb(pid, "Pss:", "smaps_rollup") * 1024
        result.tree_pss = max(result.tree_pss, pss)
        if time.perf_counter() - started > timeout:
            result.timed_out = True
            for pid in tree:
                if role(table[pid][1]) != "time":
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        worker.join(SAMPLE_SECONDS)
    result.code, result.seconds, peak_gb, _ = done["timed"]
    result.time_peak = peak_gb * GB
    result.stdout = out.read_text(errors="replace") if out.is_file() else ""
    result.stderr = err.read_text(errors="replace") if err.is_file() else ""
    return result


@dataclass(frozen=True)
class LogShape:
    """Events, users, items, distinct (user, item) pairs and Σ_u n_u² (n_u: distinct items of user u) of a log."""

    events: int
    users: int
    items: int
    nnz: int
    degree_squares: int

    @property
    def pairs(self) -> int:
        """Co-occurrence pairs the Spark self-join emits: Σ_u n_u(n_u − 1)/2."""
        return (self.degree_squares - self.nnz) // 2

    @classmethod
    def of(cls, path: Path) -> LogShape:
        frame = pd.read_csv(path, usecols=["user_id", "item_id"], dtype="category")
        distinct = frame.drop_duplicates()
        degrees = distinct.groupby("user_id", observed=True).size().to_numpy(np.int64)
        return cls(len(frame), len(degrees), distinct["item_id"].nunique(), len(distinct), int((degrees**2).sum()))

    def projected(self, users: int, items: int, events: int) -> LogShape:
        """The target shape: the measured share of distinct pairs and dispersion U·Σn_u²/nnz² kept."""
        nnz = round(events * self.nnz / self.events)
        dispersion = self.users * self.degree_squares / self.nnz**2
        return LogShape(events, users, items, nnz, round(dispersion * nnz**2 / users))


def folder_bytes(folder: Path, shape: LogShape, target: LogShape | None = None) -> float:
    """Bytes of a model folder; with `target`, each file scaled by what it grows with (history data/indices: pairs;
    files named user* and history.indptr: users; everything else, the scorer's item arrays included: items)."""
    total = 0.0
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        scale = 1.0
        if target is not None:
            if path.name.startswith(("history.data", "history.indices")):
                scale = target.nnz / shape.nnz
            elif path.name.startswith(("user", "history.indptr")):
                scale = target.users / shape.users
            else:
                scale = target.items / shape.items
        total += path.stat().st_size * scale
    return total


def linear(columns: list[list[float]], y: list[float]) -> tuple[np.ndarray, float]:
    """Non-negative least squares of y on the columns: (coefficients, rms residual); nans with too few points."""
    a, b = np.asarray(columns, float).T.reshape(len(y), len(columns)), np.asarray(y, float)
    keep = np.isfinite(b) & np.isfinite(a).all(axis=1)
    a, b = a[keep], b[keep]
    if len(b) < a.shape[1] or len(b) == 0:
        return np.full(a.shape[1], np.nan), float("nan")
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    coefficients, _ = nnls(a / scale, b)
    coefficients = coefficients / scale
    return coefficients, float(np.sqrt(np.mean((b - a @ coefficients) ** 2)))


def num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}" if np.isfinite(value) else ""


def peak_bytes(model: str, shape: LogShape) -> float:
    """The scorer's own estimate of its local fit's peak (`Scorer.peak_bytes`), nan when it cannot be asked."""
    try:
        from prismrec.models import scorer_class
        from prismrec.models.memory import DataShape

        return float(scorer_class(model)().peak_bytes(DataShape(shape.users, shape.items, shape.nnz,
                                                                shape.degree_squares)))  # fmt: skip
    except Exception as error:  # a model module being edited must not stop the report
        print(f"peak_bytes({model}) failed: {error}", file=sys.stderr)
        return float("nan")


def scoring_path(model: str, items: int) -> str:
    """How `FittedPipeline` ranks for this model: 'sparse' (history rows × item–item rows), 'graph' (HNSW over the
    factors, from ANN_MIN_ITEMS items on) or 'dense' (every item scored)."""
    try:
        from prismrec.core.retrieval import ANN_MIN_ITEMS
        from prismrec.models import Scorer, scorer_class

        kind = scorer_class(model)
    except Exception:
        return "dense"
    if kind.sparse_scores is not Scorer.sparse_scores:
        return "sparse"
    graph = kind.factors is not Scorer.factors and importlib.util.find_spec("hnswlib") is not None
    return "graph" if graph and items >= ANN_MIN_ITEMS else "dense"


def work_ratio(model: str, measured: LogShape, target: LogShape) -> tuple[float, str]:
    """How much more scoring work one user is at the target than at the measured shape, and why."""
    before, after = scoring_path(model, measured.items), scoring_path(model, target.items)
    if after == "sparse":
        return (target.nnz / target.users) / (measured.nnz / measured.users), "sparse: × items per user"
    if after == "graph" and before == "graph":
        return np.log(target.items) / np.log(measured.items), "HNSW: × log items"
    note = "dense: × items" + (" (HNSW at the target, not measured: an upper bound)" if after == "graph" else "")
    return target.items / measured.items, note


@dataclass
class Measured:
    """Everything one model's runs left for the cost model."""

    statistics: str = "?"  # 'spark' or 'driver', from the fit's --json
    fits: list[tuple[LogShape, Run]] = field(default_factory=list)
    recommends: list[tuple[int, int, int, Run]] = field(default_factory=list)  # users, cores, partitions, run
    loads: list[tuple[float, float, float]] = field(default_factory=list)  # folder bytes, load s, loaded bytes
    largest: dict[str, float] = field(default_factory=dict)  # the largest size's folder, worker and JVM peaks
    largest_shape: LogShape | None = None


def measure_size(args: argparse.Namespace, events: int, users: int, items: int, label: str,
                 measured: dict[str, Measured], emit: Callable[[str], None]) -> LogShape:  # fmt: skip
    """Synthesise one log, fit every model, load and recommend with it; rows emitted as they are measured."""
    folder = synth_log(args.work / f"e{events}", events, users, items, args.timeout)
    log = folder / "interactions.csv"
    shape = LogShape.of(log)
    where = f"| {label}{events:,} | {shape.users:,} × {shape.items:,} "
    try:
        for model in args.models.split(","):
            record = measured[model]
            model_dir = folder / model
            fit = run([*PRISMREC, "spark", "fit", "--interactions", str(log), "--model", model, "--out", str(model_dir),
                       "--master", "local[2]", "--partitions", "2", "--json"], args.timeout, args.work)  # fmt: skip
            summary = fit.summary()
            record.statistics = summary.get("statistics", record.statistics)
            note = fit.problem(args.timeout) or f"statistics: {record.statistics}"
            emit(f"{where}| {model} | fit | local[2] | 2 | {num(fit.seconds)} | "
                 f"{num(summary.get('fit_seconds', float('nan')))} | | {num(fit.peak('driver') / GB, 2)} | "
                 f"{num(fit.peak('jvm') / GB, 2)} | {num(fit.peak('worker') / GB, 2)} | {num(fit.tree_pss / GB, 2)} | "
                 f"{num(fit.time_peak / GB, 2)} | {note} |")  # fmt: skip
            if not fit.ok:
                continue
            record.fits.append((shape, fit))
            loaded = run([sys.executable, "-c", LOAD, str(model_dir)], args.timeout, args.work).summary()
            on_disk = folder_bytes(model_dir, shape)
            if loaded:
                record.loads.append((on_disk, loaded["seconds"], loaded["bytes"]))
            runs = []
            for cores in (1, 2):
                for partitions in (cores, 4 * cores):
                    command = [*PRISMREC, "spark", "recommend", "--model", str(model_dir), "--all-users", "-k", "10",
                               "--out", str(folder / "recs"), "--format", "parquet", "--master", f"local[{cores}]",
                               "--partitions", str(partitions), "--overwrite", "--json"]  # fmt: skip
                    rec = run(command, args.timeout, args.work)
                    job = rec.summary()
                    if rec.ok:
                        record.recommends.append((shape.users, cores, partitions, rec))
                        runs.append(rec)
                    rate = num(shape.users / rec.seconds, 0) if rec.ok else ""
                    emit(f"{where}| {model} | recommend | local[{cores}] | {job.get('partitions', partitions)} | "
                         f"{num(rec.seconds)} | {num(job.get('seconds', float('nan')))} | {rate} | "
                         f"{num(rec.peak('driver') / GB, 2)} | {num(rec.peak('jvm') / GB, 2)} | "
                         f"{num(rec.peak('worker') / GB, 2)} | {num(rec.tree_pss / GB, 2)} | "
                         f"{num(rec.time_peak / GB, 2)} | {rec.problem(args.timeout)} |")  # fmt: skip
            if loaded and runs and events >= max(record.largest.get("events", 0), 1):
                record.largest = {"events": events, "disk": on_disk, "loaded": float(loaded["bytes"]),
                                  "projected": folder_bytes(model_dir, shape, shape.projected(*TARGET)),
                                  "worker": max(r.peak("worker") for r in runs),
                                  "jvm": max(r.peak("jvm") for r in runs)}  # fmt: skip
                record.largest_shape = shape
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for name in ("stdout.txt", "stderr.txt"):
            args.work.joinpath(name).unlink(missing_ok=True)
    return shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,4870000", help="events, each a key of scale.SHAPES")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per command before it is killed")
    parser.add_argument("--work", type=Path, default=Path("/tmp/prismrec-spark-scale"))
    parser.add_argument("--executors", type=int, default=100, help="executors the projection assumes")
    parser.add_argument("--executor-cores", type=int, default=4, help="cores per executor the projection assumes")
    parser.add_argument("--driver-gb", type=float, default=256.0, help="largest driver called feasible")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB
    emit(f"Machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GB, load average {os.getloadavg()[0]:.1f} at the "
         "start (the cores are shared with other work). Synthetic logs from `prismrec synth --seed 1`; fit with "
         "`prismrec spark fit --master local[2] --partitions 2 --json`; recommend = `prismrec spark recommend "
         "--all-users -k 10 --format parquet` of that folder. Peaks (GB) are each process's VmHWM read from /proc "
         "every 0.5 s — driver Python, JVM, largest Python worker; 'tree PSS' is the largest sampled sum of PSS over "
         "the process tree (shared pages counted once); '%M' is /usr/bin/time's, which leaves out the JVM (the driver "
         "Python does not reap it). 'in-job s' is the command's own --json seconds (fit: after the log is read, before "
         "the folder is saved; recommend: the write job).")  # fmt: skip
    emit("")
    bare = {}
    for cores in (1, 2):
        session = [sys.executable, "-c", BARE_SESSION.format(master=f"local[{cores}]")]
        bare[cores] = run(session, args.timeout, args.work)
        emit(f"- Bare session start + stop, local[{cores}]: {num(bare[cores].seconds)} s, driver "
             f"{num(bare[cores].peak('driver') / GB, 2)} GB, JVM {num(bare[cores].peak('jvm') / GB, 2)} GB"
             + (f"; {bare[cores].problem(args.timeout)}" if bare[cores].problem(args.timeout) else ""))  # fmt: skip
    emit("")
    emit("| events | users × items | model | step | master | partitions | wall s | in-job s | users/s | driver | JVM | "
         "worker | tree PSS | %M | note |")  # fmt: skip
    emit("|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    measured = {model: Measured() for model in args.models.split(",")}
    shapes = [measure_size(args, BASELINE[0], *BASELINE[1], "baseline ", measured, emit)]
    for events in sorted(int(size) for size in args.sizes.split(",")):
        shapes.append(measure_size(args, events, *SHAPES[events], "", measured, emit))
    report(args, measured, shapes, bare, emit)
    command = ["OPENBLAS_NUM_THREADS=1", "python", "benchmarks/spark_scale.py", *sys.argv[1:]]
    lines += ["", f"Command: `{shlex.join(command)}`"]
    write_section(args.out, "spark-scale", lines, "### Spark at scale (synthetic logs)")


def report(args: argparse.Namespace, measured: dict[str, Measured], shapes: list[LogShape], bare: dict[int, Run],
           emit: Callable[[str], None]) -> None:  # fmt: skip
    """The fitted constants and the projection, with their formulas."""
    emit("")
    emit("Log shapes: " + "; ".join(f"{s.events:,} events: {s.nnz:,} distinct pairs, Σ n_u² = {s.degree_squares:,}, "
                                    f"co-occurrence pairs Σ n_u(n_u−1)/2 = {s.pairs:,}" for s in shapes))  # fmt: skip
    emit("")
    emit("Constants, by non-negative least squares over the runs above (baseline included): recommend s ≈ start + "
         "users × c_user / cores + partitions × c_part; fit wall s ≈ fixed + s per event × events; driver-side s = "
         "wall − in-job (session, reading the log to the driver, saving) ≈ fixed + s per event × events; in-job s ≈ "
         "fixed + s per pair × co-occurrence pairs (Spark statistics) or + s per event × events (driver); driver "
         "Python peak ≈ fixed + bytes per event × events; load_pipeline s ≈ fixed + s per byte of folder.")  # fmt: skip
    emit("")
    emit("| model | statistics | recommend runs | start s | c_user ms per 1,000 users·core | c_part ms | rms s | fit "
         "fixed s | fit s per M events | driver-side s per M events | in-job s per M pairs or events | fit rms s | "
         "driver fixed GB | driver MB per M events | load s per GB |")  # fmt: skip
    emit("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    constants: dict[str, dict[str, float]] = {}
    for model, record in measured.items():
        in_spark = record.statistics == "spark"
        runs = record.recommends
        (start, c_user, c_part), rms = linear([[1.0] * len(runs), [u / c for u, c, _, _ in runs],
                                               [p for _, _, p, _ in runs]], [r.seconds for *_, r in runs])  # fmt: skip
        shapes_fit, fits = [s for s, _ in record.fits], [r for _, r in record.fits]
        ones, events = [1.0] * len(fits), [s.events for s in shapes_fit]
        in_job = [r.summary().get("fit_seconds", float("nan")) for r in fits]
        (fixed, per_event), fit_rms = linear([ones, events], [r.seconds for r in fits])
        (side_fixed, side_event), _ = linear([ones, events], [r.seconds - j for r, j in zip(fits, in_job, strict=True)])
        work = [s.pairs for s in shapes_fit] if in_spark else events
        (job_fixed, job_unit), _ = linear([ones, work], in_job)
        (driver_fixed, driver_event), _ = linear([ones, events], [r.peak("driver") for r in fits])
        (load_fixed, load_byte), _ = linear([[1.0] * len(record.loads), [d for d, _, _ in record.loads]],
                                            [s for _, s, _ in record.loads])  # fmt: skip
        constants[model] = {"start": start, "c_user": c_user, "c_part": c_part, "side_fixed": side_fixed,
                            "side_event": side_event, "job_fixed": job_fixed, "job_unit": job_unit,
                            "fixed": fixed, "per_event": per_event, "driver_fixed": driver_fixed,
                            "driver_event": driver_event, "load_fixed": load_fixed, "load_byte": load_byte}  # fmt: skip

        def shown(name: str, scale: float, digits: int = 1, c: dict[str, float] = constants[model]) -> str:
            return num(c[name] * scale, digits) + ("*" if c[name] == 0 else "")

        unit = "per M pairs" if in_spark else "per M events"
        emit(f"| {model} | {record.statistics} | {len(runs)} | {num(start)} | {shown('c_user', 1e6, 2)} | "
             f"{shown('c_part', 1e3, 0)} | {num(rms, 2)} | {num(fixed)} | {shown('per_event', 1e6)} | "
             f"{shown('side_event', 1e6)} | {shown('job_unit', 1e6, 2)} {unit} | {num(fit_rms, 2)} | "
             f"{num(driver_fixed / GB, 2)} | {shown('driver_event', 1e6 / MB, 0)} | "
             f"{shown('load_byte', GB, 2)} |")  # fmt: skip
    emit("")
    emit("\\* on the zero bound of the non-negative fit: this cost did not stand out of the runs' noise (a slope of 0 "
         "makes the projections below that use it lower bounds, marked ≥).")  # fmt: skip
    target = shapes[-1].projected(*TARGET)
    cores = args.executors * args.executor_cores
    partitions = 4 * cores
    emit("")
    emit(f"Projection to {target.users:,} users × {target.items:,} items × {target.events:,} events "
         f"({target.nnz:,} distinct pairs, Σ n_u² ≈ {target.degree_squares:.2e}, co-occurrence pairs ≈ "
         f"{target.pairs:.2e}: the largest measured log's share of distinct pairs and its dispersion U·Σn_u²/nnz² "
         f"kept), {args.executors} executors × {args.executor_cores} cores = {cores} cores, {partitions} partitions; "
         f"a driver is called feasible up to {args.driver_gb:.0f} GB.")  # fmt: skip
    emit("")
    emit("| model | statistics | executors × cores | memory per executor GB | driver memory GB | local-fit "
         "peak_bytes GB | feasible? | fit h | per-user work | batch recommend h |")  # fmt: skip
    emit("|---|---|---:|---:|---:|---:|---|---:|---|---:|")
    for model, record in measured.items():
        c, big = constants[model], record.largest
        needed = peak_bytes(model, target)
        if not big:
            emit(f"| {model} | {record.statistics} | | | | {num(needed / GB, 0)} | not measured | | | |")
            continue
        in_spark = record.statistics == "spark"
        pipeline = big["loaded"] / big["disk"] * big["projected"]  # in-memory bytes of the target's folder
        worker = max(big["worker"] - big["loaded"], 0.0) + pipeline
        executor = args.executor_cores * worker + big["jvm"]
        fit_driver = c["driver_fixed"] + c["driver_event"] * target.events
        driver = max(fit_driver, pipeline + big["jvm"], fit_driver + (0.0 if in_spark else needed))
        if in_spark:
            fit_s = c["side_fixed"] + c["side_event"] * target.events + c["job_fixed"] + \
                c["job_unit"] * 2 * target.pairs / cores  # fmt: skip
        else:
            fit_s = c["fixed"] + c["per_event"] * target.events
        load_s = c["load_fixed"] + c["load_byte"] * big["projected"]
        assert record.largest_shape is not None
        ratio, why = work_ratio(model, record.largest_shape, target)
        rec_s = c["start"] + 2 * load_s + target.users * c["c_user"] * ratio / cores + partitions * c["c_part"]
        feasible = "yes" if driver <= args.driver_gb * GB else "no: driver"

        def at_least(*names: str, c: dict[str, float] = c) -> str:
            return "≥ " if any(c[name] == 0 for name in names) else ""

        fit_bound = at_least("side_event", "job_unit") if in_spark else at_least("per_event")
        emit(f"| {model} | {record.statistics} | {args.executors} × {args.executor_cores} | {num(executor / GB, 0)} | "
             f"{at_least('driver_event')}{num(driver / GB, 0)} | {num(needed / GB, 0)} | {feasible} | "
             f"{fit_bound}{num(fit_s / 3600, 2)} | {ratio:,.1f} ({why}) | "
             f"{at_least('c_user', 'c_part', 'load_byte')}{num(rec_s / 3600, 2)} |")  # fmt: skip
    emit("")
    emit("Formulas. Fit s: Spark statistics = driver-side fixed + driver-side s per event × events + in-job fixed + "
         "in-job s per pair × 2 (the local cores measured) × co-occurrence pairs / cluster cores; driver statistics = "
         "fit fixed + fit s per event × events (one driver as fast as these cores). Recommend s = start + 2 × "
         "load_pipeline s of the projected folder (the driver, then every worker at once) + users × c_user × per-user "
         "work / cluster cores + partitions × c_part; per-user work = the target's over the largest measured log's: "
         "mean items per user for sparse scoring (itemknn, sansa), items for dense scoring, log items for HNSW "
         "retrieval (factor models from 20,000 items on). Memory per executor = executor cores × (largest measured "
         "Python worker − its loaded pipeline + the projected pipeline: every Python worker loads its own copy) + the "
         "largest measured JVM. Projected pipeline = each folder file scaled by distinct pairs, users or items (the "
         "scorer's arrays by items, at the measured entries per item) × the measured in-memory/on-disk ratio. Driver "
         "memory = the largest of: driver fixed + bytes per event × events (the log is collected to the driver as "
         "strings, whatever the model; all growth of the driver's peak is put on the events, which overstates models "
         "whose driver work grows with items, such as SANSA's factorisation), the same + local-fit peak_bytes (models "
         "fitted on the driver), projected pipeline + JVM (recommend loads the pipeline on the driver).")  # fmt: skip
    spark = [m for m, r in measured.items() if r.statistics == "spark"]
    driver = [m for m, r in measured.items() if r.statistics == "driver"]
    emit("")
    rough = " (one size plus the baseline: two points per line, so the slopes are rough)" if len(shapes) < 3 else ""
    where = []
    if spark:
        where.append(f"the statistics of {', '.join(spark)} are computed in Spark SQL (the self-join scales out with "
                     "the executors, but the log still passes through the driver, whose memory grows with the "
                     "events)")  # fmt: skip
    if driver:
        where.append(f"{', '.join(driver)} fit on the driver with the local code, so one machine's memory (its "
                     "peak_bytes at the target shape) and cores bound them")  # fmt: skip
    clause = "; ".join(where)
    emit(f"Measured: every row of the first table and the constants, on this machine{rough}. Projected: the last "
         f"table, extrapolated linearly from the constants. {clause[:1].upper() + clause[1:]}. Linear is optimistic "
         "where the work is not: SANSA's factorisation (on the driver) and the item-item blocks grow with items, "
         "Python id maps with users beyond their file size.")  # fmt: skip


if __name__ == "__main__":
    main()
