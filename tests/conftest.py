"""Shared fixtures: the real data home, ml-100k and its temporal split, and a hand-made `tiny` log.

`tiny` (4 users x 8 items, 16 events in this line order; t = timestamp):

    row user item  t      row user item  t
     0  u1   i1   10       8  u3   i3    7
     1  u1   i2   20       9  u3   i4    7
     2  u2   i1    1      10  u3   i5    7
     3  u1   i3   20      11  u1   i6   30
     4  u1   i4   30      12  u1   i7   40
     5  u2   i2    2      13  u1   i8   30
     6  u1   i5    5      14  u4   i6  100
     7  u2   i6    2      15  u2   i3    3

Ties on purpose: u1 has three events at t=30 (rows 4, 11, 13) and two at t=20, u2 two at t=2,
u3 all three at t=7. u1 has 8 events (2 held out), u2 4, u3 3, u4 1 (1 held out each).
Item indices are i1=0 ... i8=7, user indices u1=0 ... u4=3; the value column is a 1-5 rating.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from prismrec.data.atomic import load_atomic
from prismrec.data.schema import Dataset, IdMap, Interactions
from prismrec.data.splits import Split, split
from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder

REFERENCE_EVALUATOR = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "evaluate.py"

TINY_ROWS: list[tuple[str, str, float, float]] = [
    # (user, item, rating, timestamp) in file line order
    ("u1", "i1", 4.0, 10.0),
    ("u1", "i2", 3.0, 20.0),
    ("u2", "i1", 5.0, 1.0),
    ("u1", "i3", 2.0, 20.0),
    ("u1", "i4", 5.0, 30.0),
    ("u2", "i2", 1.0, 2.0),
    ("u1", "i5", 3.0, 5.0),
    ("u2", "i6", 4.0, 2.0),
    ("u3", "i3", 2.0, 7.0),
    ("u3", "i4", 5.0, 7.0),
    ("u3", "i5", 1.0, 7.0),
    ("u1", "i6", 4.0, 30.0),
    ("u1", "i7", 3.0, 40.0),
    ("u1", "i8", 5.0, 30.0),
    ("u4", "i6", 2.0, 100.0),
    ("u2", "i3", 4.0, 3.0),
]
TINY_USERS = ("u1", "u2", "u3", "u4")
TINY_ITEMS = ("i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8")


def make_interactions(
    rows: list[tuple[str, str, float, float]],
    users: tuple[str, ...],
    items: tuple[str, ...],
    with_time: bool = True,
) -> Interactions:
    """Interactions over fixed id maps from (user, item, value, timestamp) rows in line order."""
    user_ids, item_ids = IdMap(users), IdMap(items)
    return Interactions.from_arrays(
        users=user_ids.indices(r[0] for r in rows),
        items=item_ids.indices(r[1] for r in rows),
        user_ids=user_ids,
        item_ids=item_ids,
        values=np.array([r[2] for r in rows], dtype=np.float32),
        timestamps=np.array([r[3] for r in rows], dtype=np.float64) if with_time else None,
    )


@pytest.fixture(scope="session", autouse=True)
def embedding_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests never write to the user's embedding cache (~/.cache/prismrec/embeddings)."""
    folder = tmp_path_factory.mktemp("embeddings")
    previous = os.environ.get("PRISMREC_CACHE_DIR")
    os.environ["PRISMREC_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("PRISMREC_CACHE_DIR", None)
    else:
        os.environ["PRISMREC_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only folder of real datasets (never skipped: CI always has it)."""
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    path = Path(os.environ.get("PRISMREC_DATA_HOME") or default).resolve()
    assert path.is_dir(), f"real datasets not found at {path}; set PRISMREC_DATA_HOME"
    return path


@pytest.fixture(scope="session")
def ml100k(shared_data: Path) -> Dataset:
    return load_atomic(shared_data / "ml-100k")


@pytest.fixture(scope="session")
def ml100k_split(ml100k: Dataset) -> Split:
    return split(ml100k.interactions, "temporal")


@pytest.fixture
def tiny() -> Interactions:
    return make_interactions(TINY_ROWS, TINY_USERS, TINY_ITEMS)


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """The reference evaluator (PROTOCOL.md A), imported from its file."""
    spec = importlib.util.spec_from_file_location("prismrec_reference_evaluate", REFERENCE_EVALUATOR)
    assert spec is not None and spec.loader is not None, f"cannot import {REFERENCE_EVALUATOR}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh embedding cache folder for one test."""
    folder = tmp_path / "embedding-cache"
    monkeypatch.setenv("PRISMREC_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEncoder:
    """The packaged all-MiniLM-L6-v2 (fp32), loaded once for the whole test session."""
    encoder = SentenceTransformerEncoder()
    encoder.encode(["warm up"])  # loads the model now, so every test reuses it
    return encoder
