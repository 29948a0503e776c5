"""Language-model layer benchmark: recency, best CF vs best hybrid, cold items. Writes BENCHMARKS.md.

Every choice is made on the validation part (fit on subtrain); test is scored once per reported
model. Paired 95% intervals compare per-user NDCG@10 of the hybrid and the CF baseline on test.

    PRISMREC_DATA_HOME=../shared/data OPENBLAS_NUM_THREADS=1 python benchmarks/language_model.py \
        [--sections recency,hybrid,cold,rating] [--datasets ml-100k,ml-latest-small]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from prismrec.core.config import PipelineConfig
from prismrec.core.ranking import top_k
from prismrec.data.registry import load_dataset
from prismrec.data.splits import split
from prismrec.evaluation.protocol import Run, run, run_rating, tune
from prismrec.evaluation.report import evaluate_lists, paired_difference
from prismrec.profiles.history import events_after, history_matrix

MINILM = "all-MiniLM-L6-v2"
CF_GRIDS: dict[str, dict[str, list[str]]] = {
    "ease": {"lambda": ["250", "500", "1000"], "history.half_life": ["0", "5", "10"]},
    "itemknn": {"neighbours": ["100", "400"], "history.half_life": ["0", "5", "10"]},
}
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
COLD_DATASETS = ("ml-latest-small", "bundlerec-electronic", "bundlerec-clothing", "bundlerec-food")


def hybrid_grids(cf: PipelineConfig, families: list[str]) -> dict[str, tuple[PipelineConfig, dict[str, list[str]]]]:
    """Hybrid grids around the chosen CF setting (its λ and half-life are kept)."""
    values = cf.to_dict()
    lam = str(values["scorer"].get("lambda", 500.0))
    half_life = str(values["history"]["half_life"])
    base = {"encoder.model": MINILM, "history.half_life": half_life}
    fusion = PipelineConfig.for_model("fusion").with_values({**base, "cf.lambda": lam})
    item = PipelineConfig.for_model("item-hybrid").with_values({**base, "cf.lambda": lam})
    tower = PipelineConfig.for_model("two-tower").with_values(base)
    grids = {
        "fusion": (fusion, {"content_weight": ["0.1", "0.2", "0.3"], "short_history": ["0", "5", "20"]}),
        "item-hybrid": (item, {"semantic_weight": ["0.001", "0.003", "0.01"], "neighbours": ["20", "50"]}),
        "two-tower": (tower, {}),
    }
    return {family: grids[family] for family in families}


def describe(config: PipelineConfig) -> str:
    data = config.to_dict()
    scorer = {k: v for k, v in data["scorer"].items() if k != "name" and not isinstance(v, dict)}
    nested = {f"{k}.{kk}": vv for k, v in data["scorer"].items() if isinstance(v, dict)
              for kk, vv in v.items() if kk != "name" and kk == "lambda"}  # fmt: skip
    parts = {**scorer, **nested, "half_life": data["history"]["half_life"]}
    return f"{data['scorer']['name']} (" + ", ".join(f"{k}={v}" for k, v in parts.items() if k != "seed") + ")"


def recency_section() -> list[str]:
    data = load_dataset("ml-100k")
    parts = split(data.interactions, "temporal")
    lines = ["| EASE λ=250 history | valid NDCG@10 | test NDCG@10 |", "|---|---|---|"]
    for half_life in (0, 10):
        config = PipelineConfig.for_model("ease", {"lambda": 250}).with_values({"history.half_life": half_life})
        valid, test = run(config, data, parts, "valid"), run(config, data, parts, "test")
        label = "plain (binary)" if half_life == 0 else f"recency-weighted, half-life {half_life} events"
        lines.append(f"| {label} | {valid.evaluation['ndcg@10']:.4f} | {test.evaluation['ndcg@10']:.4f} |")
    return lines


def tuned(family: str, base: PipelineConfig, grid: dict[str, list[str]], data: Any, parts: Any) -> tuple[Run, Run]:
    """(best valid run, its test run) of one family."""
    started = time.perf_counter()
    result = tune(base, grid, data, parts)
    print(f"  {family}: best valid {result.best.evaluation['ndcg@10']:.4f} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    return result.best, result.test


def hybrid_section(datasets: list[str], families: list[str], previous: list[str]) -> list[str]:
    """One row per (dataset, model family): the best pure CF, then each hybrid family against it.

    Rows of datasets/families not rerun are kept from `previous`, so families can be added alone.
    """
    header = [
        "| dataset | model family | chosen on valid | valid NDCG@10 | test NDCG@10 | test − best CF [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in previous[2:] if line.strip()}
    for name in datasets:
        print(name, flush=True)
        data = load_dataset(name)
        parts = split(data.interactions, "temporal")
        cf = [tuned(family, PipelineConfig.for_model(family), grid, data, parts) for family, grid in CF_GRIDS.items()]
        cf_valid, cf_test = max(cf, key=lambda pair: pair[0].evaluation["ndcg@10"])
        rows[(name, "best pure CF")] = (
            f"| {name} | best pure CF | {describe(cf_valid.config)} | {cf_valid.evaluation['ndcg@10']:.4f} "
            f"| {cf_test.evaluation['ndcg@10']:.4f} | - |"
        )
        best = cf_valid
        for family, (base, grid) in hybrid_grids(cf_valid.config, families).items():
            valid, test = tuned(family, base, grid, data, parts)
            best = valid if valid.evaluation["ndcg@10"] > best.evaluation["ndcg@10"] else best
            paired = paired_difference(test.evaluation, cf_test.evaluation)
            low, high = paired.ci95
            rows[(name, family)] = (
                f"| {name} | {family} | {describe(valid.config)} | {valid.evaluation['ndcg@10']:.4f} "
                f"| {test.evaluation['ndcg@10']:.4f} | {paired.diff:+.4f} [{low:+.4f}, {high:+.4f}] |"
            )
        if name == "ml-100k":
            header_line = (f"# Best ml-100k pipeline of benchmarks/language_model.py: valid NDCG@10 "
                           f"{best.evaluation['ndcg@10']:.4f} (temporal protocol, fit on subtrain).\n")  # fmt: skip
            (CONFIGS / "ml-100k-best.toml").write_text(header_line + best.config.to_toml(), encoding="utf-8")
    order = ["best pure CF", "fusion", "item-hybrid", "two-tower"]
    ranked = sorted(rows, key=lambda key: (key[0], order.index(key[1]) if key[1] in order else len(order)))
    return header + [rows[key] for key in ranked]


def cold_section() -> list[str]:
    lines = [
        "| dataset | cold items | test users | scorer | Recall@20 | NDCG@20 | × random (Recall) |",
        "|---|---|---|---|---|---|---|",
    ]
    scorers = [
        ("random", {}),
        ("content · MiniLM", {"encoder.model": MINILM}),
        ("content · TF-IDF", {"encoder.model": "tfidf"}),
    ]
    for name in COLD_DATASETS:
        data = load_dataset(name)
        parts = split(data.interactions, "cold-items")
        variants = list(scorers)
        if name == "ml-latest-small":  # user tags come from users' activity: also show text without them
            no_tags = {"encoder.model": MINILM, "encoder.fields": "title,year,categories"}
            variants.append(("content · MiniLM, title+year+genres", no_tags))
        floor = None
        for label, values in variants:
            model = "random" if label == "random" else "content"
            result = run(PipelineConfig.for_model(model).with_values(values), data, parts, "test", k=20).evaluation
            floor = floor or result["recall@20"]
            lines.append(
                f"| {name} | {int(parts.test_catalog.sum())} | {result['n_eval_users']} | {label} "
                f"| {result['recall@20']:.4f} | {result['ndcg@20']:.4f} | {result['recall@20'] / floor:.1f}× |"
            )
    return lines


def rating_section(datasets: list[str]) -> list[str]:
    """Rating prediction (PROTOCOL.md D): the text prior on item biases, with and without factors."""
    lines = [
        "| dataset | model | regularization (chosen on valid) | valid RMSE | test MAE | test RMSE |",
        "|---|---|---|---|---|---|",
    ]
    for name in datasets:
        data = load_dataset(name)
        parts = split(data.interactions, "temporal")
        floor = None
        for factors in (0, 32):
            for text_prior in (False, True):
                trials = []
                for regularization in ((5.0,) if factors == 0 else (5.0, 10.0, 20.0)):
                    config = PipelineConfig.for_model("rating-mf", {
                        "factors": factors, "text_prior": text_prior, "regularization": regularization,
                    }).with_values({"encoder.model": MINILM})  # fmt: skip
                    trials.append((run_rating(config, data, parts, "valid")["rmse"], regularization, config))
                valid_rmse, regularization, config = min(trials, key=lambda t: t[0])
                test = run_rating(config, data, parts, "test")
                if floor is None:
                    floor = test
                    lines.append(f"| {name} | global mean | - | - | {test['global_mean_mae']:.4f} "
                                 f"| {test['global_mean_rmse']:.4f} |")  # fmt: skip
                label = ("biases" if factors == 0 else f"biases + {factors} factors") + (
                    " + text prior (MiniLM)" if text_prior else "")
                shown = regularization if factors else "-"
                lines.append(f"| {name} | {label} | {shown} | {valid_rmse:.4f} | {test['mae']:.4f} "
                             f"| {test['rmse']:.4f} |")  # fmt: skip
    return lines


def short_history_section() -> list[str]:
    """ml-100k temporal test users seen through only their last n train events (n = 1, 2, 3, 5).

    Models are fitted on the full train part; each test user is then scored from a history that
    keeps only their n latest train events (a new user), and every train item stays excluded.
    """
    data = load_dataset("ml-100k")
    parts = split(data.interactions, "temporal")
    users = parts.test.active_users()
    after = events_after(parts.train)
    models = {
        "most-popular": PipelineConfig.for_model("most-popular"),
        "EASE λ=1000, half-life 5": PipelineConfig.for_model("ease", {"lambda": 1000}).with_values(
            {"history.half_life": 5}),
        "content (MiniLM)": PipelineConfig.for_model("content").with_values({"encoder.model": MINILM}),
        "fusion (EASE + content, short_history 5)": PipelineConfig.for_model("fusion").with_values(
            {"encoder.model": MINILM, "cf.lambda": 1000, "history.half_life": 5, "content_weight": 0.2}),
    }  # fmt: skip
    sizes = (1, 2, 3, 5)
    lines = ["| scorer | " + " | ".join(f"last {n} events" for n in sizes) + " |", "|---" * (len(sizes) + 1) + "|"]
    seen = parts.train.matrix()[users]
    for label, config in models.items():
        pipeline = config.fit(parts.train, data.catalog)
        cells = []
        for n in sizes:
            short = parts.train.select(after < n)
            history = history_matrix(short, config.history)[users]
            scores = pipeline.scorer.score(users, history)
            empty = np.diff(history.indptr) == 0
            scores[empty] = pipeline.popularity.astype(np.float32)
            scores[seen.nonzero()] = -np.inf
            scores[:, ~parts.test_catalog] = -np.inf
            items, _ = top_k(scores, 10)
            evaluation = evaluate_lists(items, users, parts.train, parts.test, parts.test_catalog, None, 10)
            cells.append(f"{evaluation['ndcg@10']:.4f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def read_section(out: Path, marker: str) -> list[str]:
    """The lines between a section's markers (empty if absent)."""
    text = out.read_text(encoding="utf-8")
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    if begin not in text:
        return []
    return text.partition(begin)[2].partition(end)[0].strip("\n").splitlines()


def write_section(out: Path, marker: str, lines: list[str], heading: str | None = None) -> None:
    """Replace the lines between a section's markers; with a `heading`, missing markers are appended under it."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    text = out.read_text(encoding="utf-8")
    if begin not in text and heading is not None:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{begin}\n{end}\n"
    if begin not in text:
        raise SystemExit(f"{out} has no {begin} marker")
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    out.write_text(f"{head}{begin}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sections", default="recency,hybrid,cold,rating")
    parser.add_argument("--datasets", default="ml-100k,ml-latest-small")
    parser.add_argument("--hybrids", default="fusion,item-hybrid,two-tower", help="hybrid families to tune")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
    args = parser.parse_args()
    sections = args.sections.split(",")
    if "recency" in sections:
        write_section(args.out, "recency", recency_section())
    if "hybrid" in sections:
        previous = read_section(args.out, "hybrid")
        write_section(args.out, "hybrid", hybrid_section(args.datasets.split(","), args.hybrids.split(","), previous))
    if "cold" in sections:
        write_section(args.out, "cold", cold_section())
    if "short" in sections:
        write_section(args.out, "short", short_history_section())
    if "rating" in sections:
        write_section(args.out, "rating", rating_section(args.datasets.split(",")))


if __name__ == "__main__":
    main()
