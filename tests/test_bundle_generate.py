"""Bundle generation and its completion protocol, on hand-made bundles and on bundlerec-electronic.

The hand-made catalogue (item index: title):

    0 camera   1 memory card   2 bag   3 tripod   4 camera strap   5 lens

Train bundles: b0 = {0, 1, 2}, b1 = {0, 1}, b2 = {0, 3}, b3 = {4, 5}; so the camera (0) co-occurs with the
memory card twice, with the bag and the tripod once, and never with the strap or the lens.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp

from prismrec.bundles.completion import (
    Case,
    completion_cases,
    cooccurrence_method,
    evaluate,
    generator_method,
    intent_cases,
    popularity_method,
    recall_and_hit,
    split_bundles,
)
from prismrec.bundles.generate import BundleGenerator, GenerateParams, cooccurrence_counts, keep_rows, short_title
from prismrec.data.registry import load_dataset
from prismrec.data.schema import binary_csr
from prismrec.errors import ConfigError, RequestError, UnknownIdError
from prismrec.rerank.base import standardise

TITLES = ("camera", "memory card", "bag", "tripod", "camera strap", "lens")
BUNDLES = [(0, 1, 2), (0, 1), (0, 3), (4, 5)]
NAMES = ("photo walk", "photo walk", "landscape shoot", "portrait set")
# Only co-occurrence counts: no semantic, graph or popularity evidence, items taken in score order.
COOCCURRENCE_ONLY = GenerateParams(semantic_weight=0.0, graph_weight=0.0, popularity_weight=0.0, diversity=0.0,
                                   max_per_category=0, substitute_similarity=1.0)  # fmt: skip


def membership(bundles: list[tuple[int, ...]], n_items: int) -> sp.csr_matrix:
    rows = np.repeat(np.arange(len(bundles)), [len(b) for b in bundles])
    cols = np.concatenate([np.asarray(b) for b in bundles])
    return binary_csr(rows.astype(np.int64), cols.astype(np.int64), (len(bundles), n_items))


def generator(**kwargs) -> BundleGenerator:
    return BundleGenerator(TITLES, membership(BUNDLES, len(TITLES)), bundle_names=NAMES, **kwargs)


class WordEncoder:
    """Encodes a text as the unit bag of its words over a fixed vocabulary (for intents without a model)."""

    model_id = "words"
    vocabulary = ("photo", "walk", "camera", "memory", "card", "bag", "tripod", "landscape", "strap", "lens",
                  "portrait", "shoot", "set")  # fmt: skip

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), len(self.vocabulary)), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                if word in self.vocabulary:
                    rows[row, self.vocabulary.index(word)] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


# ----------------------------------------------------------------------------- generation


def test_cooccurrence_counts_by_hand() -> None:
    counts = cooccurrence_counts(membership(BUNDLES, len(TITLES))).toarray()
    assert counts[0].tolist() == [0, 2, 1, 1, 0, 0]
    assert counts[4, 5] == counts[5, 4] == 1
    assert np.all(np.diag(counts) == 0)


def test_cooccurrence_ranking_by_hand() -> None:
    bundle = generator().from_items([0], 3, COOCCURRENCE_ONLY)
    assert bundle.items.tolist() == [1, 2, 3]  # 2 shared bundles, then 1 and 1 (tie by lower index)
    expected = standardise(np.log1p(np.array([2.0, 1.0, 1.0, 0.0, 0.0])))  # z over the items 1..5
    np.testing.assert_allclose(bundle.scores, expected[:3])


def test_seeds_and_owned_items_are_never_returned() -> None:
    gen = generator()
    for seeds in ([0], [0, 1], [4], [2, 5, 3]):
        bundle = gen.from_items(seeds, 6, COOCCURRENCE_ONLY)
        assert not set(bundle.items.tolist()) & set(seeds)
        assert len(bundle.items) == len(TITLES) - len(seeds)
    owned = gen.for_user(np.array([3, 0, 1]), 6, replace(COOCCURRENCE_ONLY, user_seeds=1))
    assert not set(owned.items.tolist()) & {0, 1, 3}


def test_for_user_takes_the_most_recent_or_strongest_items_as_seeds() -> None:
    gen = generator()
    recent = gen.for_user(np.array([4, 0]), 1, replace(COOCCURRENCE_ONLY, user_seeds=1))  # seed = camera
    assert recent.items.tolist() == [1] and "goes with “camera” you bought" in recent.reasons[0]
    strengths = sp.csr_matrix(np.array([[0.0, 0.0, 0.0, 0.0, 3.0, 1.0]]))  # strap strongest; lens owned
    strongest = gen.for_user(strengths, 2, replace(COOCCURRENCE_ONLY, user_seeds=1))
    assert 5 not in strongest.items and 4 not in strongest.items


def test_substitutes_are_not_taken_together() -> None:
    vectors = np.array([[0, 0, 1], [1, 0, 0], [0.99, 0.141, 0], [0, 1, 0], [0, 0.7, 0.7], [0.5, 0, 0.86]])
    gen = generator(vectors=vectors)
    params = replace(COOCCURRENCE_ONLY, substitute_similarity=0.85)
    # memory card (1) and bag (2) have cosine 0.99: with the rule only the better-scored card is taken
    assert gen.from_items([0], 2, params).items.tolist() == [1, 3]
    assert gen.from_items([0], 2, replace(params, substitute_similarity=1.0)).items.tolist() == [1, 2]
    # the lens (5) is a substitute of the seed (cosine 0.86 > 0.85) and never enters
    assert 5 not in gen.from_items([0], 5, params).items


def test_max_per_category_counts_seeds_and_chosen_items() -> None:
    categories = np.array([0, 0, 1, 1, -1, 2])  # the card repeats the camera's category; bag and tripod share one
    gen = generator(categories=categories)
    one = gen.from_items([0], 5, replace(COOCCURRENCE_ONLY, max_per_category=1)).items.tolist()
    assert 1 not in one and len({2, 3} & set(one)) == 1 and one[0] == 2
    assert set(gen.from_items([0], 5, replace(COOCCURRENCE_ONLY, max_per_category=2)).items.tolist()) == {1, 2, 3, 4, 5}


def test_budget_is_honoured_and_unknown_prices_are_skipped() -> None:
    prices = np.array([500.0, 50.0, 30.0, 30.0, np.nan, 10.0])
    gen = generator(prices=prices)
    bundle = gen.from_items([0], 5, replace(COOCCURRENCE_ONLY, budget=60.0))
    assert bundle.items.tolist() == [1, 5]  # 50 + 10; the bag would make 80, the strap has no price
    assert prices[bundle.items].sum() <= 60.0
    assert len(gen.from_items([0], 5, COOCCURRENCE_ONLY).items) == 5  # no budget: prices do not matter


def test_dpp_takes_the_most_diverse_pair_like_brute_force() -> None:
    bundles = [(0, 1), (0, 1), (0, 2), (0, 3), (0, 4)]  # the card co-occurs twice with the seed, the others once
    vectors = np.array([[-1, 0, 0], [1, 0, 0], [0.8, 0.6, 0], [0.6, 0.8, 0], [0, 0.1, 0.995]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    gen = BundleGenerator(TITLES[:5], membership(bundles, 5), vectors=vectors)
    params = replace(COOCCURRENCE_ONLY, diversity=0.5)
    chosen = gen.from_items([0], 2, params).items.tolist()
    # the DPP kernel of the pool 1..4: quality exp(α z), α = θ / (2(1 − θ)) = 0.5 at θ = 1 − diversity = 0.5
    quality = np.exp(0.5 * standardise(np.log1p(np.array([2.0, 1.0, 1.0, 1.0]))))
    kernel = quality[:, None] * (vectors[1:] @ vectors[1:].T + 1e-3 * np.eye(4)) * quality[None, :]
    best = max(combinations(range(4), 2), key=lambda pair: np.linalg.det(kernel[np.ix_(pair, pair)]))
    assert set(chosen) == {best[0] + 1, best[1] + 1} == {1, 4}  # the card and the most different item
    assert gen.from_items([0], 2, replace(params, diversity=0.0)).items.tolist() == [1, 2]  # score order


def test_reasons_name_the_seed_and_the_intent() -> None:
    gen = generator(vectors=np.eye(6)[:, :6], encoder=WordEncoder())
    bundle = gen.from_items([0], 3, COOCCURRENCE_ONLY)
    assert bundle.reasons[0] == "often bundled with “camera” (2 bundles)"
    assert bundle.reasons[1] == "bundled with “camera” (1 bundle)"
    assert all("“camera”" in reason for reason in bundle.reasons)


def test_from_intent_uses_the_bundles_of_the_closest_intents() -> None:
    vectors = WordEncoder().encode(list(TITLES))
    gen = generator(vectors=vectors, encoder=WordEncoder())
    params = GenerateParams(semantic_weight=0.0, popularity_weight=0.0, intent_bundle_weight=1.0, diversity=0.0,
                            max_per_category=0, substitute_similarity=1.0, intent_neighbours=1)  # fmt: skip
    bundle = gen.from_intent("landscape shoot", 2, params)
    assert bundle.items.tolist() == [0, 3]  # the items of b2, the one bundle named "landscape shoot"
    assert bundle.reasons[0] == "matches “landscape shoot”; in bundles for “landscape shoot”"


def test_invalid_input_is_reported() -> None:
    gen = generator(vectors=np.eye(6), encoder=WordEncoder())
    with pytest.raises(UnknownIdError, match="unknown item index 6"):
        gen.from_items([6])
    with pytest.raises(UnknownIdError, match="unknown item index -1"):
        gen.from_items([-1])
    with pytest.raises(RequestError, match="k must be a positive"):
        gen.from_items([0], 0)
    with pytest.raises(RequestError, match="intent text is empty"):
        gen.from_intent("   ")
    with pytest.raises(RequestError, match="at least one seed"):
        gen.from_items([])
    with pytest.raises(ConfigError, match="budget"):
        gen.from_items([0], 2, GenerateParams(budget=-1.0))
    with pytest.raises(ConfigError, match="needs item vectors with an encoder"):
        generator().from_intent("photo walk")


# ----------------------------------------------------------------------------- protocol


def test_recall_and_hit_by_hand() -> None:
    case = Case(7, np.array([0]), np.array([1, 2, 3]), "")
    answers = {7: np.array([1, 5, 2, 4])}
    result = evaluate(lambda c, k: answers[c.bundle][:k], [case], ks=(1, 2, 3))
    assert result.bundles.tolist() == [7]
    assert [result.recall[k][0] for k in (1, 2, 3)] == pytest.approx([1 / 3, 1 / 3, 2 / 3])
    assert [result.hit[k][0] for k in (1, 2, 3)] == [1.0, 1.0, 1.0]
    assert recall_and_hit(np.array([4, 5]), np.array([1, 2]), 2) == (0.0, 0.0)
    with pytest.raises(ValueError, match="returned a seed"):
        evaluate(lambda c, k: np.array([0, 1]), [case], ks=(2,))


def test_completion_on_a_tiny_split_by_hand() -> None:
    test_bundles = [(0, 1, 2), (2, 3)]  # held out; statistics from BUNDLES only
    everything = membership(BUNDLES + test_bundles, len(TITLES))
    cases = completion_cases(everything, np.array([4, 5]), seed=3)
    assert [c.bundle for c in cases] == [4, 5]
    for case, items in zip(cases, test_bundles, strict=True):
        assert len(case.seeds) == 1 and sorted([*case.seeds, *case.hidden]) == sorted(items)
    gen = BundleGenerator(TITLES, keep_rows(everything, np.arange(4)))
    cooccurrence = evaluate(cooccurrence_method(gen.cooccurrence, gen.popularity), cases, ks=(1,))
    popularity = evaluate(popularity_method(gen.popularity), cases, ks=(1,))
    # popularity = bundles per item [3, 2, 1, 1, 1, 1]: the camera, else the card
    expected_popular = [1 if c.seeds[0] != 0 else 2 for c in cases]
    for row, case in enumerate(cases):
        assert popularity.recall[1][row] == float(expected_popular[row] in case.hidden) / len(case.hidden)
    seed_to_best = {0: 1, 1: 0, 2: 0, 3: 0}  # the item sharing the most train bundles with each seed
    for row, case in enumerate(cases):
        assert cooccurrence.recall[1][row] == float(seed_to_best[int(case.seeds[0])] in case.hidden) / len(case.hidden)


def test_split_keeps_test_bundles_out_of_the_statistics() -> None:
    rows = membership(BUNDLES * 5 + [(5,)] * 5, len(TITLES))
    split = split_bundles(rows, seed=1)
    assert len(np.intersect1d(split.train, split.test)) == 0
    assert len(split.train) + len(split.test) == rows.shape[0]
    assert np.all(np.diff(rows.indptr)[split.test] >= 2)
    assert split_bundles(rows, seed=1).test.tolist() == split.test.tolist()
    inner = split_bundles(rows, split.train, seed=1)
    assert set(inner.train) | set(inner.test) == set(split.train)
    cases = intent_cases(rows, split.test, ["walk"] * rows.shape[0])
    assert [c.bundle for c in cases] == split.test.tolist() and all(len(c.seeds) == 0 for c in cases)


def test_generator_beats_popularity_on_bundlerec_electronic(shared_data) -> None:
    data = load_dataset("bundlerec-electronic")
    assert data.bundles is not None
    split = split_bundles(data.bundles.membership, seed=0)
    gen = BundleGenerator.from_dataset(data, split.train)
    assert gen.membership[split.test].nnz == 0 and gen.graph is not None
    cases = completion_cases(data.bundles.membership, split.test[:120], data.bundles.names, seed=0)
    params = GenerateParams(max_per_category=0)
    ours = evaluate(generator_method(gen, params), cases).recall[10]
    popular = evaluate(popularity_method(gen.popularity), cases).recall[10]
    assert ours.mean() > popular.mean() + 0.1
    bundle = gen.from_items(cases[0].seeds, 5, params)
    seed_title = short_title(data.catalog.title(int(cases[0].seeds[0])))
    assert len(bundle.items) == 5 and all(seed_title in reason for reason in bundle.reasons)
