"""Trade-off outputs: the sweep as CSV, Pareto plots as PNG and one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd

from prismrec.evaluation.tradeoff import AXES, Sweep, operating_point

AXIS_LABELS = {
    "ild_genre": "category ILD@10 (Jaccard)",
    "ild_embedding": "embedding ILD@10 (cosine distance)",
    "coverage": "catalogue coverage@10",
    "miscalibration": "miscalibration@10 (KL, lower is better)",
}
PLOTTED = ("ild_genre", "ild_embedding", "coverage", "miscalibration")


def plot_png(sweep: Sweep, title: str) -> bytes:
    """PNG bytes: NDCG@10 against each diversity axis, one line per re-ranker, baseline marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = sweep.frame
    axes_shown = [a for a in PLOTTED if frame[a].notna().any()]
    columns = 2 if len(axes_shown) > 2 else len(axes_shown)
    rows = -(-len(axes_shown) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.6 * rows), squeeze=False)
    panels = grid.ravel()
    for unused in panels[len(axes_shown) :]:
        unused.set_visible(False)
    base = frame[frame["reranker"] == "none"].iloc[0]
    for panel, axis in zip(panels, axes_shown, strict=False):
        for name, group in frame[frame["reranker"] != "none"].groupby("reranker", sort=False):
            panel.plot(group[axis], group["ndcg"], marker="o", markersize=3.5, linewidth=1.2, label=name)
            front = group[group[f"pareto_{axis}"]]
            panel.scatter(front[axis], front["ndcg"], s=36, facecolors="none", edgecolors="black", linewidths=0.8)
        panel.scatter([base[axis]], [base["ndcg"]], marker="*", s=160, color="black", zorder=5, label="no re-ranking")
        panel.axhline(base["ndcg"] * 0.99, color="grey", linestyle=":", linewidth=0.8)
        panel.axhline(base["ndcg"] * 0.95, color="grey", linestyle="--", linewidth=0.8)
        panel.set_xlabel(AXIS_LABELS[axis])
        panel.set_ylabel("NDCG@10")
        panel.grid(alpha=0.3)
    panels[0].legend(fontsize=8, loc="lower left")
    figure.suptitle(f"{title}  (circles: Pareto front; dotted/dashed: 1% / 5% NDCG loss)", fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def operating_points(frame: pd.DataFrame) -> pd.DataFrame:
    """For 1% and 5% NDCG budgets: the best setting on each axis."""
    rows = []
    for budget in (0.01, 0.05):
        for axis in AXES:
            point = operating_point(frame, budget, axis)
            if point is not None and pd.notna(point[axis]):
                rows.append({"ndcg_budget": f"{budget:.0%}", "best_on": axis, "reranker": point["reranker"],
                             "knob": f"{point['knob']}={point['value']:.3g}", "ndcg": point["ndcg"],
                             "ndcg_change": point["ndcg_change"], axis: point[axis]})  # fmt: skip
    return pd.DataFrame(rows)


def write_report(sweep: Sweep, out_dir: Path, title: str) -> dict[str, Path]:
    """Write tradeoff.csv, tradeoff.png and tradeoff.html into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out_dir / "tradeoff.csv", "png": out_dir / "tradeoff.png", "html": out_dir / "tradeoff.html"}
    sweep.frame.to_csv(paths["csv"], index=False)
    png = plot_png(sweep, title)
    paths["png"].write_bytes(png)
    image = base64.b64encode(png).decode("ascii")
    table = sweep.frame.drop(columns=[c for c in sweep.frame if c.startswith("pareto_")]).to_html(
        index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0
    )
    points = operating_points(sweep.frame).to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse;
font-size:13px}}td,th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}}th{{background:#f4f4f4}}
img{{max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Each re-ranker's diversity knob swept over the same candidates; NDCG differences are paired over users
against the un-reranked lists (95% interval). Pareto-optimal settings are circled in the plots.</p>
<img alt="NDCG@10 against diversity" src="data:image/png;base64,{image}">
<h2>Operating points</h2>{points}
<h2>All settings</h2>{table}
</body></html>
"""
    paths["html"].write_text(page, encoding="utf-8")
    return paths
