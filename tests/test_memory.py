"""Memory estimates before a fit: refusal with one line instead of an out-of-memory kill; blocked item-kNN."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from prismrec.cli import app
from prismrec.core.config import PipelineConfig
from prismrec.data.schema import IdMap, Interactions
from prismrec.errors import ConfigError
from prismrec.models import itemknn as itemknn_module
from prismrec.models import scorer_class
from prismrec.models.memory import MEMORY_LIMIT_ENV, DataShape, MemoryRefusal, available_bytes, check_fits, parse_bytes


def power_law_log(n_users: int, n_items: int, per_user: int, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    users = np.repeat(np.arange(n_users), per_user)
    items = rng.choice(n_items, size=len(users), p=popularity / popularity.sum())
    pairs = np.unique(np.stack([users, items], axis=1), axis=0)
    n = len(pairs)
    return Interactions(pairs[:, 0], pairs[:, 1], np.ones(n, np.float32), np.arange(n, dtype=np.float64),
                        IdMap([f"u{u}" for u in range(n_users)]), IdMap([f"i{i}" for i in range(n_items)]))


def test_parse_bytes() -> None:
    assert parse_bytes("8G") == 8 << 30
    assert parse_bytes("512m") == 512 << 20
    assert parse_bytes("1.5g") == int(1.5 * (1 << 30))
    assert parse_bytes("1000") == 1000
    with pytest.raises(ConfigError, match="not a size"):
        parse_bytes("lots")


def test_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "100M")
    assert available_bytes() == 100 << 20
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    assert 0 < available_bytes() < 1 << 50


def test_shape_of_a_log() -> None:
    log = power_law_log(50, 30, 4)
    shape = DataShape.of(log)
    degrees = log.user_counts()
    assert (shape.n_users, shape.n_items, shape.nnz) == (50, 30, len(log))
    assert shape.degree_squares == int((degrees.astype(np.int64) ** 2).sum())


def test_ease_grows_with_the_square_of_the_items() -> None:
    ease = scorer_class("ease")()
    small, large = DataShape(1000, 1000, 10_000), DataShape(1000, 50_000, 10_000)
    assert ease.peak_bytes(large) > 2000 * ease.peak_bytes(small) / 2  # (50x)^2 = 2500x, sparse parts aside
    assert ease.peak_bytes(large) > 36 * 50_000**2
    itemknn = scorer_class("itemknn")()
    assert itemknn.peak_bytes(large) < ease.peak_bytes(large) / 20


def test_refusal_names_need_machine_and_alternatives() -> None:
    shape = DataShape(200_000, 50_000, 4_870_000, 10**9)
    ease, itemknn, als = (scorer_class(name)().peak_bytes(shape) for name in ("ease", "itemknn", "als"))
    with pytest.raises(MemoryRefusal) as refused:
        check_fits("ease", ease, shape, {"itemknn": itemknn, "als": als}, available=24 << 30)
    message = str(refused.value)
    assert "model 'ease' needs about" in message and "24.0 GB available" in message
    assert "200,000 users × 50,000 items" in message and "--model als" in message and "itemknn" in message
    check_fits("itemknn", itemknn, shape, {}, available=24 << 30)  # fits: no error


def test_estimates_bound_the_measured_peak(tmp_path: Path) -> None:
    """A child process fits on a 20,000 × 8,000 power-law log; its peak RSS growth stays under the estimate."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import resource, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_memory import power_law_log\n"
        "from prismrec.models import scorer_class\n"
        "from prismrec.models.memory import DataShape\n"
        "log = power_law_log(20000, 8000, 20)\n"
        "scorer = scorer_class(sys.argv[1])()\n"
        "estimate = scorer.peak_bytes(DataShape.of(log))\n"
        "matrix = log.matrix(binary=True)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "scorer.fit_matrix(matrix)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(estimate, after - before)\n",
        encoding="utf-8",
    )
    for model in ("itemknn", "als"):
        done = subprocess.run([sys.executable, str(script), model, str(Path(__file__).parent)], capture_output=True,
                              text=True, check=True, env={"OPENBLAS_NUM_THREADS": "1", "PATH": ""})  # fmt: skip
        estimate, grown = (int(x) for x in done.stdout.split())
        assert grown <= estimate, f"{model}: grew {grown} bytes, estimated {estimate}"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def test_blocked_itemknn_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    log = power_law_log(400, 300, 12, seed=3)
    matrix = log.matrix(binary=True)
    whole = scorer_class("itemknn")(neighbours=20).fit_matrix(matrix).similarity
    monkeypatch.setattr(itemknn_module, "BLOCK_BYTES", itemknn_module.BYTES_PER_CELL * 300 * 7)  # 7 items a block
    blocked = scorer_class("itemknn")(neighbours=20).fit_matrix(matrix).similarity
    assert (abs(whole - blocked) > 0).nnz == 0 and whole.nnz == blocked.nnz
    # and both are the brute-force top-20 cosines per target item
    counts = (matrix.T @ matrix).toarray().astype(np.float64)
    norms = np.sqrt(np.diag(counts))
    cosine = counts / (np.outer(norms, norms) + 1e-12)
    np.fill_diagonal(cosine, 0.0)
    dense = whole.toarray()
    for target in range(0, 300, 37):
        kept = np.flatnonzero(dense[:, target])
        assert len(kept) <= 20
        assert np.allclose(np.sort(dense[kept, target])[::-1], np.sort(cosine[:, target])[::-1][: len(kept)], atol=1e-6)
    assert isinstance(whole, sp.csr_matrix)


def test_pipeline_fit_refuses_before_fitting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "250M")
    log = power_law_log(300, 3000, 5)
    with pytest.raises(MemoryRefusal, match=r"model 'ease' needs about \d+ MB .*250 MB available"):
        PipelineConfig.for_model("ease").fit(log)
    assert PipelineConfig.for_model("itemknn").fit(log).scorer.fitted


def test_cli_fit_refuses_with_one_line(tmp_path: Path) -> None:
    log = power_law_log(300, 4000, 60)  # enough events that most items appear in the file
    frame = log.to_frame()
    path = tmp_path / "events.csv"
    frame[["user_id", "item_id"]].to_csv(path, index=False)
    result = CliRunner().invoke(app, ["fit", "--interactions", str(path), "--model", "ease", "--out",
                                      str(tmp_path / "m")], env={MEMORY_LIMIT_ENV: "250M"})  # fmt: skip
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: model 'ease' needs about"), result.output
    assert "available" in lines[0] and "--model" in lines[0]
    assert not (tmp_path / "m").exists()
