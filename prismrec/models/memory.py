"""Memory a fit will need, estimated from the data's shape before it starts, and what the machine has.

Every scorer declares `peak_bytes(shape)` (`Scorer.peak_bytes`); `check_fits` compares it with the
memory available to this process — the smaller of the kernel's MemAvailable and the cgroup's limit
minus its usage, or `PRISMREC_MEMORY_LIMIT` (e.g. "8G") when set — and refuses with one line that
says what is needed, what there is, and which model fits instead. A refused fit never starts, so it
never ends in an out-of-memory kill.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prismrec.data.schema import Interactions
from prismrec.errors import ConfigError

MEMORY_LIMIT_ENV = "PRISMREC_MEMORY_LIMIT"
HEADROOM = 0.9  # share of the available memory a fit may plan to use
UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True)
class DataShape:
    """What a memory estimate reads: users, items, (user, item) pairs, and the sum of squared user degrees
    (the number of item–item co-occurrence products, which bounds item–item work)."""

    n_users: int
    n_items: int
    nnz: int
    degree_squares: int = 0

    @classmethod
    def of(cls, train: Interactions) -> DataShape:
        """The shape of a train log (events per user from its counts, no matrix built)."""
        degrees = train.user_counts().astype(np.int64)
        return cls(train.n_users, train.n_items, len(train), int((degrees**2).sum()))

    @property
    def matrix_bytes(self) -> int:
        """A CSR copy of the binary user–item matrix: float32 data, int32 indices, int64 row pointers."""
        return 8 * self.nnz + 8 * (self.n_users + 1)


class MemoryRefusal(ConfigError):
    """A fit would need more memory than the machine has."""


def parse_bytes(text: str) -> int:
    """'8G', '512m', '1.5g' or a number of bytes."""
    value = text.strip().lower().removesuffix("b")
    try:
        if value and value[-1] in UNITS:
            return int(float(value[:-1]) * UNITS[value[-1]])
        return int(float(value))
    except ValueError:
        raise ConfigError(f"{MEMORY_LIMIT_ENV}={text!r} is not a size; write e.g. 8G or 512M") from None


def available_bytes() -> int:
    """Memory this process may still use: MemAvailable, capped by the cgroup limit and PRISMREC_MEMORY_LIMIT."""
    limits = []
    if os.environ.get(MEMORY_LIMIT_ENV):
        limits.append(parse_bytes(os.environ[MEMORY_LIMIT_ENV]))
    meminfo = _read("/proc/meminfo")
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            limits.append(int(line.split()[1]) * 1024)
    cgroup_max, cgroup_used = _read("/sys/fs/cgroup/memory.max").strip(), _read("/sys/fs/cgroup/memory.current").strip()
    if cgroup_max.isdigit() and cgroup_used.isdigit():
        limits.append(int(cgroup_max) - int(cgroup_used))
    return max(min(limits), 0) if limits else 1 << 62


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except OSError:
        return ""


def human_size(n_bytes: float) -> str:
    """'23.1 GB', '412 MB'."""
    if n_bytes >= 1 << 30:
        return f"{n_bytes / (1 << 30):.1f} GB"
    return f"{n_bytes / (1 << 20):.0f} MB"


def check_fits(model: str, needed: int, shape: DataShape, alternatives: dict[str, int],
               available: int | None = None) -> None:  # fmt: skip
    """Raise MemoryRefusal when `needed` bytes do not fit; `alternatives` = other models and their needs, in the
    order to suggest them."""
    budget = available if available is not None else available_bytes()
    if needed <= HEADROOM * budget:
        return
    fitting = [f"--model {name} (about {human_size(cost)})" for name, cost in alternatives.items()
               if name != model and cost <= HEADROOM * budget]  # fmt: skip
    instead = f"use {' or '.join(fitting[:2])} instead" if fitting else "no model fits: sample the log"
    raise MemoryRefusal(
        f"model '{model}' needs about {human_size(needed)} for {shape.n_users:,} users × {shape.n_items:,} items "
        f"({shape.nnz:,} events), this machine has {human_size(budget)} available; {instead}"
    )
