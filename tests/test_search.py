"""Item search: fusion by hand, BM25 against its formula, Chinese tokens, filters, diversity, collapse,
personalisation, and Chinese search over the real kuairec-captions catalogue."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from prismrec.data.kuairec import load_kuairec_captions
from prismrec.evaluation.diversity import embedding_ild
from prismrec.search.fusion import reciprocal_rank_fusion, weighted_fusion
from prismrec.search.lexical import LexicalIndex
from prismrec.search.searcher import ItemSearch, SearchParams
from prismrec.search.tokens import CJK_RUN, tokenize
from prismrec.semantic.tfidf import TfidfEncoder

DENSE = SearchParams(mode="dense")


class TableEncoder:
    """Maps known query strings to fixed vectors (a zero vector for anything else)."""

    model_id = "table"

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table
        self.dim = len(next(iter(table.values())))

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = [self.table.get(t, np.zeros(self.dim)) for t in texts]
        return np.asarray(rows, dtype=np.float32)


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def axis(i: int, d: int = 8) -> np.ndarray:
    vector = np.zeros(d, dtype=np.float32)
    vector[i] = 1.0
    return vector


def near_duplicates() -> tuple[ItemSearch, np.ndarray]:
    """Items 0-3: near-copies of the query direction; items 4-7: less relevant, each in its own direction.

    Query "q" = e0. Items 4-7 have cosines 0.6, 0.55, 0.5, 0.45 with the query and about the same with
    items 0-3, so a relevance-only page is the four copies.
    """
    rng = np.random.default_rng(0)
    copies = [axis(0) + 0.01 * rng.standard_normal(8) for _ in range(4)]
    others = [
        c * axis(0) + math.sqrt(1 - c * c) * axis(i) for c, i in zip((0.6, 0.55, 0.5, 0.45), range(1, 5), strict=True)
    ]
    vectors = unit(np.stack(copies + others))
    texts = [f"item {name}" for name in "abcdefgh"]
    return ItemSearch(texts, vectors, TableEncoder({"q": axis(0)})), vectors


# ----------------------------------------------------------------------------- fusion


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = reciprocal_rank_fusion([np.array([0, 1, 2]), np.array([2, 0])], n_items=4, k=60)
    expected = [1 / 61 + 1 / 62, 1 / 62, 1 / 63 + 1 / 61, 0.0]
    np.testing.assert_allclose(fused, expected)
    assert np.argsort(-fused, kind="stable").tolist() == [0, 2, 1, 3]


def test_weighted_reciprocal_rank_fusion_by_hand() -> None:
    fused = reciprocal_rank_fusion([np.array([0, 1, 2]), np.array([2, 0])], n_items=4, k=60, weights=[0.2, 0.8])
    np.testing.assert_allclose(fused, [0.2 / 61 + 0.8 / 62, 0.2 / 62, 0.2 / 63 + 0.8 / 61, 0.0])
    assert np.argsort(-fused, kind="stable").tolist() == [2, 0, 1, 3]  # the heavier ranking's first item wins


def test_fused_search_is_rrf_of_the_two_single_rankings() -> None:
    texts = ["red apple pie", "green apple", "apple juice and apple cake", "banana bread", "red wine", "blue cheese"]
    vectors = unit(np.eye(6, dtype=np.float32) + 0.1)
    query = "red apple"
    encoder = TableEncoder({query: unit(np.array([0.1, 0.9, 0.0, 0.5, 0.3, 0.0]))})
    search = ItemSearch(texts, vectors, encoder)
    lexical = search.search(query, 6, SearchParams(mode="lexical")).items
    dense = search.search(query, 6, DENSE).items
    assert lexical.tolist() == [0, 4, 2, 1] and dense.tolist() == [1, 3, 4, 0, 2, 5]  # the hand-made setup

    hits = search.search(query, 6, SearchParams(mode="fused", fusion="rrf", rrf_k=10, lexical_weight=0.4))
    by_hand: dict[int, float] = {}
    for ranking, weight in ((lexical, 0.4), (dense, 0.6)):
        for rank, item in enumerate(ranking.tolist(), start=1):
            by_hand[item] = by_hand.get(item, 0.0) + weight / (10 + rank)
    order = sorted(by_hand, key=lambda item: (-by_hand[item], item))
    assert hits.items.tolist() == order
    np.testing.assert_allclose(hits.scores, [by_hand[i] for i in order], rtol=1e-6)
    assert len(hits.reasons) == len(hits.items)


def test_weighted_fusion_by_hand() -> None:
    lexical = np.array([0.0, 2.0, 4.0, 1.0, 9.0])
    dense = np.array([0.5, 0.1, 0.3, 0.9, -1.0])
    candidates = np.array([0, 1, 2, 3])  # item 4 is not a candidate: it does not set the scale
    fused = weighted_fusion([lexical, dense], [0.3, 0.7], candidates)
    # min-max over the candidates: lexical [0, 0.5, 1, 0.25], dense [0.5, 0, 0.25, 1]
    np.testing.assert_allclose(fused, [0.35, 0.15, 0.475, 0.775])


def test_weighted_search_matches_the_formula() -> None:
    texts = ["red apple pie", "green apple", "apple juice and apple cake", "banana bread", "red wine"]
    vectors = unit(np.eye(5, dtype=np.float32) + 0.2)
    query_vector = unit(np.array([0.2, 0.9, 0.1, 0.5, 0.3]))
    search = ItemSearch(texts, vectors, TableEncoder({"red apple": query_vector}))
    params = SearchParams(mode="fused", fusion="weighted", lexical_weight=0.3, candidates=5)
    hits = search.search("red apple", 5, params)
    lexical = LexicalIndex(texts).scores("red apple").astype(np.float64)
    dense = (vectors @ query_vector).astype(np.float64)

    def minmax(x: np.ndarray) -> np.ndarray:
        return (x - x.min()) / (x.max() - x.min())

    expected = 0.3 * minmax(lexical) + 0.7 * minmax(dense)  # every item is a candidate (dense ranks them all)
    order = np.argsort(-expected, kind="stable")
    assert hits.items.tolist() == order.tolist()
    np.testing.assert_allclose(hits.scores, expected[order], rtol=1e-5)


# ----------------------------------------------------------------------------- BM25 and tokens


def brute_force_bm25(documents: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """Lucene BM25: Σ_t idf(t) · tf / (tf + k1 (1 - b + b |d| / avgdl)), idf = ln(1 + (N - df + 0.5) / (df + 0.5))."""
    n = len(documents)
    average = sum(len(d) for d in documents) / n
    scores = np.zeros(n)
    for term in query:
        df = sum(term in d for d in documents)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, document in enumerate(documents):
            tf = document.count(term)
            scores[i] += idf * tf / (tf + k1 * (1 - b + b * len(document) / average))
    return scores


def test_bm25_matches_the_formula_on_a_tiny_corpus() -> None:
    texts = [
        "The quick brown fox jumps over the lazy dog",
        "quick quick fox",
        "brown dog sleeps all afternoon in the sun",
        "a fox, a dog and another fox",
        "lazy afternoon",
        "Dog food for a quick dog",
    ]
    query = "quick fox dog"
    scores = LexicalIndex(texts).scores(query)
    expected = brute_force_bm25([tokenize(t) for t in texts], tokenize(query))
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    assert np.argsort(-scores, kind="stable").tolist() == np.argsort(-expected, kind="stable").tolist()
    assert expected[4] == 0.0 and scores[4] == 0.0
    hits = ItemSearch(texts).search(query, 10, SearchParams(mode="lexical"))
    assert 4 not in hits.items  # an item sharing no term is not a hit
    assert hits.items.tolist() == np.argsort(-expected, kind="stable")[:5].tolist()


def test_chinese_text_is_segmented_into_words() -> None:
    assert tokenize("猫咪和狗狗在家里玩耍") == ["猫咪", "和", "狗狗", "在", "家里", "玩耍"]
    assert tokenize("iPhone手机壳 黑色") == ["iphon", "手机", "壳", "黑色"]  # Latin words lower-cased and stemmed
    texts = ["猫咪和狗狗在家里玩耍", "我喜欢吃北京烤鸭", "新款手机壳黑色", "学习机器学习的方法"]
    search = ItemSearch(texts)
    assert search.search("家里的猫咪", 3, SearchParams(mode="lexical")).items[0] == 0
    assert search.search("黑色的手机", 3, SearchParams(mode="lexical")).items[0] == 2
    assert "猫咪" in search.search("家里的猫咪", 1, SearchParams(mode="lexical")).reasons[0]


def test_english_words_match_through_their_stems() -> None:
    assert tokenize("Aliens running to the weddings") == ["alien", "run", "wed"]  # stop word "to", "the" dropped
    texts = ["Alien (1979) Horror|Sci-Fi", "Running Scared (1986) Action|Comedy", "Toy Story (1995) Animation"]
    hits = ItemSearch(texts).search("aliens", 3, SearchParams(mode="lexical"))
    assert hits.items.tolist() == [0]
    assert hits.reasons == ["matches “aliens”"]  # the reason names the query's word, not its stem


# ----------------------------------------------------------------------------- filters, diversity, collapse, profile


@pytest.mark.parametrize("mode", ["lexical", "dense", "fused"])
def test_allowed_mask_is_respected(mode: str) -> None:
    texts = [f"apple item {i}" if i % 2 == 0 else f"pear item {i}" for i in range(10)]
    vectors = unit(np.eye(10, dtype=np.float32) + 0.05)
    encoder = TableEncoder({"apple": unit(np.arange(10, 0, -1, dtype=np.float32))})
    search = ItemSearch(texts, vectors, encoder)
    params = SearchParams(mode=mode)
    unfiltered = search.search("apple", 10, params).items
    allowed = np.ones(10, dtype=bool)
    allowed[unfiltered[:2]] = False
    allowed[[3, 7]] = False
    hits = search.search("apple", 10, params, allowed=allowed)
    assert len(hits.items) > 0
    assert allowed[hits.items].all()
    nothing = search.search("apple", 10, params, allowed=np.zeros(10, dtype=bool))
    assert len(nothing.items) == 0


def test_diversity_raises_the_embedding_ild_of_the_page() -> None:
    search, vectors = near_duplicates()
    plain = search.search("q", 4, DENSE).items
    diverse = search.search("q", 4, SearchParams(mode="dense", diversity=0.7)).items
    assert sorted(plain.tolist()) == [0, 1, 2, 3]
    assert diverse[0] == plain[0]  # the best item still leads
    ild_plain, ild_diverse = embedding_ild(np.stack([plain, diverse]), vectors)
    assert ild_plain < 0.01
    assert ild_diverse > ild_plain + 0.2


def test_collapse_hides_near_duplicates() -> None:
    search, vectors = near_duplicates()
    plain = search.search("q", 4, DENSE).items
    collapsed = search.search("q", 4, SearchParams(mode="dense", collapse=0.95)).items
    assert collapsed[0] == plain[0]
    assert len(collapsed) == 4
    cosines = vectors[collapsed] @ vectors[collapsed].T
    assert (cosines[np.triu_indices(4, 1)] < 0.95).all()
    assert len(set(collapsed.tolist()) & {0, 1, 2, 3}) == 1  # one copy shown, the others hidden


def test_personalisation_moves_results_toward_the_profile() -> None:
    rng = np.random.default_rng(1)
    group_a = [0.82 * axis(0) + 0.57 * axis(1) + 0.001 * rng.standard_normal(8) for _ in range(5)]
    group_b = [0.78 * axis(0) + 0.62 * axis(2) + 0.001 * rng.standard_normal(8) for _ in range(5)]
    vectors = unit(np.stack(group_a + group_b))  # items 0-4 a little closer to the query than items 5-9
    search = ItemSearch([f"item {i}" for i in range(10)], vectors, TableEncoder({"q": axis(0)}))
    profile = axis(2)
    plain = search.search("q", 5, DENSE, profile=profile).items  # personalisation 0: profile ignored
    personal = search.search("q", 5, SearchParams(mode="dense", personalisation=2.0), profile=profile)
    assert set(plain.tolist()) == {0, 1, 2, 3, 4}
    assert set(personal.items.tolist()) == {5, 6, 7, 8, 9}
    assert (vectors[personal.items] @ profile).mean() > (vectors[plain] @ profile).mean()
    assert all("your interests" in reason for reason in personal.reasons)


# ----------------------------------------------------------------------------- real Chinese catalogue


def typical_words(captions: list[str], labels: list[str], category: str, n: int = 3) -> list[str]:
    """The `n` Chinese words (≥ 2 characters, in ≥ 10 captions of the category) most specific to it."""
    documents = [{t for t in tokenize(c) if len(t) >= 2 and CJK_RUN.fullmatch(t)} for c in captions]
    everywhere = Counter(word for words in documents for word in words)
    inside = Counter(
        word for words, label in zip(documents, labels, strict=True) if label == category for word in words
    )
    ranked = sorted((w for w in inside if inside[w] >= 10), key=lambda w: (-inside[w] / everywhere[w], w))
    return ranked[:n]


def test_chinese_search_on_kuairec_finds_the_category(shared_data: Path) -> None:
    data = load_kuairec_captions(shared_data / "kuairec-captions")
    captions = data.catalog.table["caption"].tolist()
    labels = data.catalog.table["first_level_category"].tolist()
    encoder = TfidfEncoder(dim=64).fit(captions)
    search = ItemSearch(captions, encoder.encode(captions), encoder)
    for category in ("美食", "宠物", "舞蹈"):  # food, pets, dance
        query = " ".join(typical_words(captions, labels, category))
        hits = search.search(query, 10, SearchParams(mode="fused"))
        inside = sum(labels[i] == category for i in hits.items)
        assert len(hits.items) == 10
        assert inside >= 7, (category, query, [captions[i] for i in hits.items])
