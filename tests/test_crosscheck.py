"""Integration on ml-100k: our splits and metrics against PROTOCOL.md and the reference evaluator.

The reference is ../shared/tools/evaluate.py (numpy + pandas only), imported from its file by the
`reference` fixture in conftest.py.
PROTOCOL.md says the same split must give the same numbers to 4 decimals.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from prismrec.core.config import PipelineConfig
from prismrec.core.frames import lists_to_frame
from prismrec.data.schema import Dataset
from prismrec.data.splits import Split, cold_items, split
from prismrec.evaluation.protocol import Run, run
from prismrec.evaluation.report import evaluate_lists

# every number the reference reports that our harness must reproduce
COMPARED = [f"{m}@10" for m in ("ndcg", "recall", "precision", "hr", "mrr", "coverage", "gini", "avgpop",
                                "ild_genre", "novelty")] + ["train_leaks", "n_short_lists"]  # fmt: skip


@pytest.fixture(scope="module")
def reference_split(reference: ModuleType, shared_data: Path) -> object:
    return reference.Split(shared_data / "ml-100k", "temporal")


# ------------------------------------------------------------------ (a) split fingerprints


@pytest.mark.parametrize(
    ("protocol", "test_sha1", "valid_sha1"),
    [("temporal", "8d849396b37f", "31b125053e4e"), ("random", "1824973468a2", "f21e72ccb59d")],
)
def test_split_fingerprints(ml100k: Dataset, protocol: str, test_sha1: str, valid_sha1: str) -> None:
    parts = split(ml100k.interactions, protocol)
    assert (len(parts.train), len(parts.test), len(parts.subtrain), len(parts.valid)) == (80000, 20000, 64005, 15995)
    assert parts.fingerprint("test") == test_sha1
    assert parts.fingerprint("valid") == valid_sha1
    assert parts.data.n_users == 943 and parts.data.n_items == 1682


def test_reference_split_agrees(reference_split: object, ml100k_split: Split) -> None:
    assert reference_split.fingerprint("test") == ml100k_split.fingerprint("test") == "8d849396b37f"
    assert reference_split.fingerprint("valid") == ml100k_split.fingerprint("valid") == "31b125053e4e"


# ------------------------------------------------------------------ (b) metrics against the reference


def assert_same_as_reference(ours: Run, reference: ModuleType, reference_split: object, stage: str) -> dict:
    recs = ours.frame()
    assert list(recs.columns) == ["user_id", "item_id", "rank", "score"]
    recs = recs.astype({"user_id": str, "item_id": str})
    expected = reference.evaluate_recs(reference_split, recs, stage, 10)
    summary = ours.evaluation.summary
    mismatches = {key: (summary[key], expected[key]) for key in COMPARED if abs(summary[key] - expected[key]) > 1e-4}
    assert not mismatches, f"ours vs reference ({stage}): {mismatches}"
    assert expected["n_eval_users"] == summary["n_eval_users"] == 943
    assert expected["duplicate_rows"] == 0 and expected["extra_users"] == 0
    return expected


@pytest.fixture(scope="module")
def ease_test_run(ml100k: Dataset, ml100k_split: Split) -> Run:
    return run(PipelineConfig.for_model("ease", {"lambda": 250}), ml100k, ml100k_split, "test")


def test_ease_matches_reference_on_test(ease_test_run: Run, reference: ModuleType, reference_split: object) -> None:
    assert_same_as_reference(ease_test_run, reference, reference_split, "test")


def test_ease_absolute_ndcg(ease_test_run: Run) -> None:
    assert ease_test_run.evaluation["ndcg@10"] == pytest.approx(0.2071, abs=0.00005)  # peer value


def test_ease_matches_reference_on_valid(
    ml100k: Dataset, ml100k_split: Split, reference: ModuleType, reference_split: object
) -> None:
    result = run(PipelineConfig.for_model("ease", {"lambda": 250}), ml100k, ml100k_split, "valid")
    assert_same_as_reference(result, reference, reference_split, "valid")
    assert result.evaluation["n_eval_users"] == 943


def test_itemknn_matches_reference_on_test(
    ml100k: Dataset, ml100k_split: Split, reference: ModuleType, reference_split: object
) -> None:
    result = run(PipelineConfig.for_model("itemknn"), ml100k, ml100k_split, "test")
    assert_same_as_reference(result, reference, reference_split, "test")


def test_leaks_and_short_lists_agree_with_reference(
    ml100k: Dataset, ml100k_split: Split, ease_test_run: Run, reference: ModuleType, reference_split: object
) -> None:
    # Damage EASE's lists: user row 0 gets a train item at rank 1, user row 1 loses its last 3 slots.
    items = ease_test_run.items.copy()
    train = ml100k_split.train
    items[0, 0] = train.items[train.users == ease_test_run.users[0]][0]
    items[1, 7:] = -1
    ours = evaluate_lists(items, ease_test_run.users, train, ml100k_split.test, ml100k_split.test_catalog,
                          ml100k.catalog.category_matrix()[0], 10).summary  # fmt: skip
    recs = lists_to_frame(train.user_ids, train.item_ids, ease_test_run.users, items, ease_test_run.scores)
    expected = reference.evaluate_recs(reference_split, recs.astype({"user_id": str, "item_id": str}), "test", 10)
    assert ours["train_leaks"] == expected["train_leaks"] == 1
    assert ours["n_short_lists"] == expected["n_short_lists"] == 1
    for key in COMPARED:
        assert ours[key] == pytest.approx(expected[key], abs=1e-4), key


# ------------------------------------------------------------------ (c) cold items


@pytest.fixture(scope="module")
def cold_split(ml100k: Dataset) -> Split:
    return split(ml100k.interactions, "cold-items")


def test_cold_items_are_twenty_percent_chosen_as_protocol_b(ml100k: Dataset, cold_split: Split) -> None:
    inter = ml100k.interactions
    active_ids = sorted(str(i) for i in inter.item_ids.ids[np.flatnonzero(inter.item_counts())])  # string order
    permutation = np.random.default_rng(42).permutation(len(active_ids))
    expected = {active_ids[p] for p in permutation[: (2 * len(active_ids) + 5) // 10]}  # round(0.2 * 1682) = 336
    chosen = set(inter.item_ids.to_external(cold_items(inter)).tolist())
    assert len(chosen) == 336
    assert chosen == expected


def test_cold_items_events_all_in_test(ml100k: Dataset, cold_split: Split) -> None:
    cold = cold_items(ml100k.interactions)
    is_cold = np.zeros(ml100k.n_items, dtype=bool)
    is_cold[cold] = True
    assert is_cold[cold_split.test.items].all()  # test holds only cold-item events ...
    assert not is_cold[cold_split.train.items].any()  # ... and train none of them
    assert len(cold_split.test) == int(np.isin(ml100k.interactions.items, cold).sum())  # every cold event
    assert len(cold_split.train) + len(cold_split.test) == 100_000
    np.testing.assert_array_equal(cold_split.catalog("test"), is_cold)


def test_cold_items_validation_makes_cold_items_of_train(cold_split: Split) -> None:
    train_cold = cold_items(cold_split.train)
    mask = np.zeros(cold_split.train.n_items, dtype=bool)
    mask[train_cold] = True
    np.testing.assert_array_equal(cold_split.catalog("valid"), mask)
    assert mask[cold_split.valid.items].all() and not mask[cold_split.subtrain.items].any()
    assert not (mask & cold_split.catalog("test")).any()  # valid's cold items are drawn from train items


def test_cold_items_lists_rank_only_cold_items(ml100k: Dataset, cold_split: Split) -> None:
    result = run(PipelineConfig.for_model("most-popular"), ml100k, cold_split, "test", k=20)
    listed = result.items[result.items >= 0]
    assert cold_split.catalog("test")[listed].all()
    assert result.evaluation["unknown_items"] == 0
    assert result.evaluation["n_eval_users"] == len(cold_split.test.active_users())


# ------------------------------------------------------------------ (c) protocol E on amazon-games


def test_leave_one_out_metrics_match_reference_on_amazon_games(reference: ModuleType, shared_data: Path) -> None:
    """PROTOCOL.md E (sequential leave-one-out, full ranking): item-kNN's lists scored by us and by the reference."""
    from prismrec.data.derived import load_amazon_games

    data = load_amazon_games(shared_data / "amazon-games")
    parts = split(data.interactions, "leave-one-out")
    ours = run(PipelineConfig.for_model("itemknn", {"neighbours": 100}), data, parts, "test")
    theirs = reference.Split(shared_data / "amazon-games", "leave-one-out")
    assert theirs.fingerprint("test") == parts.fingerprint("test") == "4c72cf32f869"
    recs = ours.frame().astype({"user_id": str, "item_id": str})
    expected = reference.evaluate_recs(theirs, recs, "test", 10)
    summary = ours.evaluation.summary
    compared = [f"{m}@10" for m in ("ndcg", "recall", "hr", "mrr", "coverage", "novelty")] + ["train_leaks"]
    mismatches = {key: (summary[key], expected[key]) for key in compared if abs(summary[key] - expected[key]) > 1e-4}
    assert not mismatches, f"ours vs reference: {mismatches}"
    assert expected["n_eval_users"] == summary["n_eval_users"] == 50_546
