"""Trade-off sweeps: Pareto fronts by hand, knob ranges, and `prismrec tradeoff` end to end on ml-100k."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prismrec.cli import app
from prismrec.core.config import RerankConfig, rerank_setting
from prismrec.evaluation.tradeoff import knob_values, operating_point, pareto


def test_pareto_front_by_hand() -> None:
    accuracy = np.array([0.30, 0.20, 0.25, 0.10, 0.20])
    diversity = np.array([0.10, 0.50, 0.20, 0.40, np.nan])
    # (0.10, 0.40) is beaten by (0.20, 0.50) on both axes; the NaN point is never on the front.
    assert pareto(accuracy, diversity).tolist() == [True, True, True, False, False]
    # Lower is better: (0.30, 0.10) is the most accurate and the lowest, so it beats every other point.
    assert pareto(accuracy, diversity, larger_is_better=False).tolist() == [True, False, False, False, False]


def test_pareto_keeps_equal_points() -> None:
    assert pareto(np.array([0.2, 0.2]), np.array([0.5, 0.5])).tolist() == [True, True]


def test_knob_values_run_from_least_to_most_diverse() -> None:
    assert knob_values("mmr", 3) == pytest.approx([0.0, 0.45, 0.9])
    assert knob_values("dpp", 3) == pytest.approx([0.99, 0.645, 0.3])  # larger θ = more relevance


def test_setting_keeps_the_configured_parameters_of_the_same_reranker() -> None:
    base = RerankConfig.build("mmr", {"lambda": 0.1, "similarity": "category"})
    swept = rerank_setting(base, "mmr", 0.6)
    assert swept.params.lambda_ == 0.6 and swept.params.similarity == "category"
    other = rerank_setting(base, "dpp", 0.5)
    assert other.params.theta == 0.5 and other.params.similarity == "embedding"  # dpp's own defaults


def test_operating_point_respects_the_budget() -> None:
    frame = pd.DataFrame({
        "reranker": ["none", "a", "a", "b"], "ndcg_change": [0.0, -0.005, -0.03, -0.009],
        "coverage": [0.3, 0.4, 0.9, 0.5], "miscalibration": [0.8, 0.7, 0.5, 0.75],
    })  # fmt: skip
    assert operating_point(frame, 0.01)["coverage"] == 0.5
    assert operating_point(frame, 0.05)["coverage"] == 0.9
    assert operating_point(frame, 0.01, "miscalibration")["miscalibration"] == 0.7
    assert operating_point(frame[frame["reranker"] == "none"], 0.01) is None


def test_tradeoff_command_on_ml100k(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRISMREC_DATA_HOME", str(shared_data))
    out = tmp_path / "report"
    result = CliRunner().invoke(app, [
        "tradeoff", "--dataset", "ml-100k", "--model", "ease", "--param", "lambda=250",
        "--param", "history.half_life=10", "--param", "encoder.model=tfidf", "--rerankers", "popularity,calibrated",
        "--points", "3", "--split", "test", "--out", str(out), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    frame = pd.read_csv(out / "tradeoff.csv")
    assert list(frame["reranker"]) == ["none"] + ["popularity"] * 3 + ["calibrated"] * 3
    baseline = frame.iloc[0]
    assert round(baseline["ndcg"], 4) == 0.2476  # recency-weighted EASE on the temporal test part
    assert round(report["baseline"]["ndcg@10"], 4) == 0.2476
    # Knob at zero: both re-rankers keep the score order, so the lists equal the plain top-10.
    for name in ("popularity", "calibrated"):
        first = frame[(frame["reranker"] == name) & (frame["value"] == 0.0)].iloc[0]
        assert first["ndcg_diff"] == 0.0 and first["coverage"] == baseline["coverage"]
    # A strong popularity penalty spreads the lists over more items; calibration lowers miscalibration.
    assert frame[frame["reranker"] == "popularity"]["coverage"].iloc[-1] > baseline["coverage"] + 0.1
    assert frame[frame["reranker"] == "calibrated"]["miscalibration"].iloc[-1] < baseline["miscalibration"] - 0.1
    assert (out / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "tradeoff.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "<table" in page and "Operating points" in page


def test_tradeoff_unknown_reranker_is_a_user_error(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRISMREC_DATA_HOME", str(shared_data))
    result = CliRunner().invoke(app, ["tradeoff", "--dataset", "ml-100k", "--model", "ease", "--rerankers", "mmx"])
    assert result.exit_code == 1 and "unknown re-ranker 'mmx'" in result.stderr
