"""Diversity-aware training benchmark: the two-tower's calibration term on ml-100k. Writes BENCHMARKS.md.

The best ml-100k pipeline (configs/ml-100k-best.toml: two-tower over MiniLM vectors, half-life 5) is
fitted on subtrain with each calibration setting and scored on valid (PROTOCOL.md temporal): the
weights of `--grid` on the loss's own softmax, then the weights of `--tempered` with the calibration
term on the softmax tempered by `--sharpness` (`calibration_sharpness`). The chosen setting is the one
with the lowest valid miscalibration@10 among those whose valid NDCG@10 is within 1% of the plain
model's (weight 0); plain and chosen are then refit on train and scored once on test. Paired 95%
intervals compare per-user NDCG@10 with the plain model's on the same part.

    PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        .venv/bin/python benchmarks/diversity_training.py [--grid 0,0.5,1,2,4] [--tempered 0.05,0.1,0.2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from language_model import write_section

from prismrec.core.config import PipelineConfig
from prismrec.data.items import category_distribution
from prismrec.data.registry import load_dataset
from prismrec.data.splits import Split, split
from prismrec.evaluation.protocol import Run, run
from prismrec.evaluation.report import paired_difference

BEST = Path(__file__).resolve().parents[1] / "configs" / "ml-100k-best.toml"
MARKER = "diversity-training"
NDCG_BUDGET = 0.01  # largest relative loss of valid NDCG@10 against the plain model
COLUMNS = ("ild_genre@10", "ild_embedding@10", "coverage@10", "miscalibration@10")
SHARPNESS_SHOWN = (1.0, 4.0)  # the softmax genre KL is reported at these sharpness values
ALPHA = 0.01  # share of the history mix in the predicted mix, as in miscalibration@10
Setting = tuple[str, str]  # (calibration, calibration_sharpness) as given on the command line


def label(setting: Setting) -> str:
    weight, sharpness = setting
    return weight if float(sharpness) == 1.0 or float(weight) == 0.0 else f"{weight}, sharpness {sharpness}"


def softmax_calibration(result: Run, parts: Split, categories: sp.csr_matrix) -> list[str]:
    """Table cells: genre KL of the fitted model's softmax over the candidates at each SHARPNESS_SHOWN, and its entropy.

    For each evaluated user, softmax(sharpness · score / temperature) over the items its list could hold
    (candidates of the part, train items excluded), its genre mix r (p(c|i) = 1/|G_i|), and
    KL(t || (1 - ALPHA) r + ALPHA t) with t the genre mix of the user's fit history, in nats; the entropy
    (nats, sharpness 1) says over how many items the softmax spreads (exp(entropy) items). Means over users.
    """
    fit_part, _ = parts.stage(result.stage)
    pipeline, users = result.pipeline, result.users
    assert pipeline.history is not None
    logits = pipeline.scorer.score(users, pipeline.history[users]).astype(np.float64)
    logits /= pipeline.scorer.params.temperature
    logits[:, ~parts.catalog(result.stage)] = -np.inf
    logits[fit_part.matrix()[users].nonzero()] = -np.inf
    target = category_distribution(fit_part.matrix()[users], categories)
    cells, entropy = [], 0.0
    for sharpness in SHARPNESS_SHOWN:
        weights = np.exp(sharpness * logits - (sharpness * logits).max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        predicted = (1 - ALPHA) * category_distribution(sp.csr_matrix(weights), categories) + ALPHA * target
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(target > 0, target * np.log(target / predicted), 0.0).sum(axis=1)
        cells.append(f"{kl.mean():.3f}")
        if sharpness == 1.0:
            entropy = float(-(weights * np.log(np.where(weights > 0, weights, 1.0))).sum(axis=1).mean())
    return [*cells, f"{entropy:.2f}"]


def row(stage: str, setting: Setting, result: Run, plain: Run, softmax: list[str], note: str = "") -> str:
    """One markdown table row: NDCG@10, its paired difference to `plain`, diversity and calibration."""
    summary = result.evaluation.summary
    if result is plain:
        difference = "-"
    else:
        paired = paired_difference(result.evaluation, plain.evaluation)
        low, high = paired.ci95
        difference = f"{paired.diff:+.4f} [{low:+.4f}, {high:+.4f}]"
    cells = [stage, label(setting) + note, f"{summary['ndcg@10']:.4f}", difference]
    cells += [f"{summary[name]:.4f}" for name in COLUMNS] + softmax + [f"{result.fit_seconds:.0f}"]
    return "| " + " | ".join(cells) + " |"


def choose(trials: dict[Setting, Run], plain: Run) -> Setting:
    """The setting with the lowest valid miscalibration@10 among those within the NDCG budget of `plain`."""
    floor = (1 - NDCG_BUDGET) * plain.evaluation["ndcg@10"]
    allowed = [setting for setting, trial in trials.items() if trial.evaluation["ndcg@10"] >= floor]
    return min(allowed, key=lambda setting: trials[setting].evaluation["miscalibration@10"])


def section(settings: list[Setting], command: str) -> list[str]:
    data = load_dataset("ml-100k")
    parts = split(data.interactions, "temporal")
    base = PipelineConfig.from_toml(BEST)
    categories = data.catalog.category_matrix()[0]

    def fit(setting: Setting, stage: str) -> Run:
        weight, sharpness = setting
        return run(base.with_values({"calibration": weight, "calibration_sharpness": sharpness}), data, parts, stage)

    started = time.perf_counter()
    valid = {}
    for setting in settings:
        valid[setting] = fit(setting, "valid")
        print(f"  valid, calibration {label(setting)}: NDCG@10 {valid[setting].evaluation['ndcg@10']:.4f}, "
              f"miscalibration@10 {valid[setting].evaluation['miscalibration@10']:.4f}", flush=True)  # fmt: skip
    plain = settings[0]
    chosen = choose(valid, valid[plain])
    tested = list(dict.fromkeys([plain, chosen]))
    test = {setting: fit(setting, "test") for setting in tested}
    minutes = (time.perf_counter() - started) / 60
    header = ["part", "calibration", "NDCG@10", "NDCG − plain [95% CI]", "genre-ILD@10", "embedding-ILD@10"]
    header += ["coverage@10", "miscalibration@10", *(f"softmax genre KL, σ={s:g}" for s in SHARPNESS_SHOWN)]
    header += ["softmax entropy", "fit s"]
    lines = [
        f"Command: `{command}` ({minutes:.0f} min). Chosen on valid (lowest miscalibration@10 with NDCG@10 ≥ "
        f"{1 - NDCG_BUDGET:.2f} × plain): **{label(chosen)}**.",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    note = {setting: " (chosen)" if setting == chosen and setting != plain else "" for setting in settings}
    for stage, runs, shown in (("valid", valid, settings), ("test", test, tested)):
        for setting in shown:
            softmax = softmax_calibration(runs[setting], parts, categories)
            lines.append(row(stage, setting, runs[setting], runs[plain], softmax, note[setting] * (stage == "valid")))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", default="0,0.5,1,2,4", help="calibration weights on the loss's softmax (0 first)")
    parser.add_argument("--tempered", default="0.05,0.1,0.2", help="calibration weights on the tempered softmax")
    parser.add_argument("--sharpness", default="4", help="calibration_sharpness of the --tempered weights")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    args = parser.parse_args()
    weights = args.grid.split(",")
    if float(weights[0]) != 0.0:
        raise SystemExit("--grid must start with 0, the plain model")
    settings = [(weight, "1") for weight in weights]
    settings += [(weight, args.sharpness) for weight in args.tempered.split(",") if args.tempered]
    command = (
        "PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python "
        f"benchmarks/diversity_training.py --grid {args.grid} --tempered {args.tempered} --sharpness {args.sharpness}"
    )
    write_section(args.out, MARKER, section(settings, command))


if __name__ == "__main__":
    main()
