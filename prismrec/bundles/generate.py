"""Bundle generation: compose k complementary items around seed items, a user's history or an intent.

The items allowed in the bundle (see 1 and 3 below) that rank among the `candidates` best of at least one
weighted signal form the pool; each pool item gets a blended score, the weighted sum of the signals, each
z-scored over the pool:

- co-occurrence (seeds): ln(1 + Σ_s C[s, i]), C[s, i] = number of the known bundles holding both s and i;
- intent bundles (intents, with an encoder): Σ_b max(0, cos(intent, name_b)) over the `intent_neighbours`
  known bundles b holding i whose name (their intent) is closest to the text;
- co-purchase: ln(1 + Σ_s U[s, i]), U[s, i] = number of users who have both s and i (needs a user–item matrix);
- semantic: the mean cosine of i's vector to the seeds' vectors (for an intent: to the intent's vector);
- lexical (intents, with an `ItemSearch`): BM25 of the intent against i's text;
- graph (seeds): the mean `ItemGraph.relatedness` of i to the seeds (shared categories and bundles);
- popularity: ln(1 + number of the known bundles holding i).

The `candidates` best-scored items are then composed into a bundle of k:

1. complements, not substitutes: an item whose cosine to a seed or an already chosen item exceeds
   `substitute_similarity`, or whose most specific category already occurs `max_per_category` times among
   the seeds and the chosen items, is not taken (a camera, a memory card and a bag, not three cameras);
2. within-bundle diversity: the pool is put in greedy DPP MAP order (`dpp_select`) over the item vectors
   with qualities exp(α z), z the z-scored blended scores, α = θ / (2(1 − θ)), θ = 1 − `diversity`
   (`diversity` = 0 keeps the score order; higher values trade score for items unlike those already
   taken); items are taken in that order when they pass rules 1 and 3;
3. budget: with item prices, an item is taken only while the generated items' total stays within `budget`;
   items of unknown price are then skipped.

Every chosen item comes with a reason naming the seed it goes with, or the intent it matches.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prismrec.core.ranking import top_k
from prismrec.data.schema import Dataset
from prismrec.errors import ConfigError, RequestError, UnknownIdError
from prismrec.graph.item_graph import ItemGraph
from prismrec.params import param, validate
from prismrec.profiles.interests import normalise
from prismrec.rerank.base import standardise
from prismrec.rerank.dpp import dpp_select
from prismrec.search.searcher import ItemSearch
from prismrec.semantic.encoder import TextEncoder

TITLE_CHARS = 60  # titles in reasons are cut to this many characters
DPP_DEPTH = 10  # the DPP orders at most DPP_DEPTH * k + 10 pool items; the rest follow in score order

MAX_QUALITY_EXPONENT = 1e6  # α beyond this is the score order already (z-scores times α are clipped at ±50)


@dataclass(frozen=True)
class GenerateParams:
    k: int = param(4, "items in the generated bundle (seeds not counted)", min=1)
    candidates: int = param(200, "best-scored items the composition chooses from", min=1)
    cooccurrence_weight: float = param(1.0, "weight of co-occurrence with the seeds in the known bundles", min=0.0)
    intent_bundle_weight: float = param(0.1, "weight of membership in the known bundles whose intents are closest "
                                        "to the intent", min=0.0)  # fmt: skip
    copurchase_weight: float = param(0.0, "weight of co-purchase with the seeds (needs a user–item matrix)", min=0.0)
    semantic_weight: float = param(1.0, "weight of the cosine to the seeds' (or the intent's) vectors", min=0.0)
    lexical_weight: float = param(0.5, "weight of BM25 against the intent (intents with an ItemSearch)", min=0.0)
    graph_weight: float = param(0.5, "weight of the item graph's relatedness to the seeds", min=0.0)
    popularity_weight: float = param(0.1, "weight of the item's bundle count", min=0.0)
    substitute_similarity: float = param(0.85, "cosine above which two items are substitutes and only one is "
                                         "taken (1 = no limit)", min=-1.0, max=1.0)  # fmt: skip
    max_per_category: int = param(1, "items per most specific category, seeds included (0 = no limit)", min=0)
    diversity: float = param(0.3, "DPP diversity 1 − θ: 0 takes items in score order, higher values prefer "
                             "items unlike those already taken", min=0.0, max=0.99)  # fmt: skip
    budget: float | None = param(None, "maximum total price of the generated items (used when prices exist)",
                                 min=0.0)  # fmt: skip
    user_seeds: int = param(5, "for a user: the most recent (or strongest) items used as seeds", min=1)
    intent_neighbours: int = param(20, "for an intent: how many known bundles with the closest intents count",
                                   min=0)  # fmt: skip


@dataclass(frozen=True)
class GeneratedBundle:
    """A generated bundle in the order the items were chosen.

    Attributes:
        items: int64[k'] item indices (k' < k when fewer items pass the rules).
        scores: float64[k'] blended score of each item (sum of weighted z-scores).
        reasons: one human-readable reason per item.
    """

    items: np.ndarray
    scores: np.ndarray
    reasons: list[str]


def cooccurrence_counts(rows: sp.spmatrix) -> sp.csr_matrix:
    """float32 CSR [n_items, n_items]: number of rows (bundles, users) holding both items; diagonal 0.

    Args:
        rows: [n_rows, n_items] sparse; any stored non-zero counts as membership.
    """
    binary = sp.csr_matrix(rows, dtype=np.float32, copy=True)
    binary.eliminate_zeros()
    binary.data[:] = 1.0
    counts = sp.csr_matrix(binary.T @ binary)
    counts.setdiag(0.0)
    counts.eliminate_zeros()
    return counts


def keep_rows(matrix: sp.spmatrix, rows: np.ndarray) -> sp.csr_matrix:
    """float32 CSR of the same shape holding only `rows` (int64 indices); every other row emptied."""
    mask = np.zeros(matrix.shape[0], dtype=np.float32)
    mask[np.asarray(rows, dtype=np.int64)] = 1.0
    kept = sp.csr_matrix(sp.diags(mask) @ sp.csr_matrix(matrix, dtype=np.float32))
    kept.eliminate_zeros()
    return kept


def encode_intents(
    membership: sp.csr_matrix, names: Sequence[str], encoder: TextEncoder | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(int64[m] bundles with a name and items, float32[m, d] unit vectors of their names, or None without an
    encoder): what generation from an intent compares the intent with."""
    sizes = np.diff(membership.indptr)
    rows = np.asarray([b for b, name in enumerate(names) if name.strip() and sizes[b] > 0], dtype=np.int64)
    if not len(rows) or encoder is None:
        return rows, None
    return rows, normalise(np.asarray(encoder.encode([names[b] for b in rows]), dtype=np.float32))


def most_specific_categories(categories: sp.spmatrix | None) -> np.ndarray | None:
    """int64[n_items]: each item's most specific category column (-1 without one), or None without categories.

    Args:
        categories: [n_items, n_categories] item–category incidence (`Catalog.category_matrix()[0]`,
            `ItemSide.categories`), or None.

    The most specific category of an item is its label held by the fewest items (ties: the later column).
    """
    if categories is None:
        return None
    matrix = sp.csr_matrix(categories)
    held_by = np.asarray((matrix > 0).sum(axis=0), dtype=np.float64).ravel()
    leaf = np.full(matrix.shape[0], -1, dtype=np.int64)
    for item in range(matrix.shape[0]):
        labels = matrix.indices[matrix.indptr[item] : matrix.indptr[item + 1]]
        if len(labels):
            leaf[item] = max(labels.tolist(), key=lambda j: (-held_by[j], j))
    return leaf


def short_title(title: str, limit: int = TITLE_CHARS) -> str:
    """The title in curly quotes, cut at a word boundary to at most `limit` characters (with "…")."""
    title = " ".join(title.split())
    if len(title) > limit:
        head = title[:limit]
        space = head.rfind(" ")
        title = (head[:space] if space > limit // 2 else head).rstrip(" ,;:-") + "…"
    return f"“{title}”"


class BundleGenerator:
    """Composes bundles from co-occurrence, semantic, graph and popularity evidence.

    Args:
        titles: display title of every item (item index order); n_items = len(titles).
        membership: [n_bundles, n_items] sparse, the bundles whose statistics may be used (rows of other
            bundles, e.g. test bundles, must be empty).
        vectors: float32[n_items, d] item vectors (rows scaled to unit length here), or None.
        categories: int64[n_items] most specific category per item (-1 = none), or None.
        popularity: float64[n_items] item popularity; default: the number of bundles of `membership` holding it.
        prices: float64[n_items] item prices (NaN = unknown), or None.
        graph: an `ItemGraph` over the same items (built from the allowed bundles only), or None.
        encoder: encodes intents into the space of `vectors`, or None.
        bundle_names: per membership row, its intent or name ("" if none), for intents and reasons.
        search: an `ItemSearch` over the item texts (lexical matching of intents), or None.
        user_items: [n_users, n_items] sparse user–item matrix for co-purchase counts, or None.
        intent_index: a saved `intent_index()` (bundle rows, their name vectors from `encoder`), or None to
            encode the names on first use.
    """

    def __init__(
        self,
        titles: Sequence[str],
        membership: sp.spmatrix,
        vectors: np.ndarray | None = None,
        categories: np.ndarray | None = None,
        popularity: np.ndarray | None = None,
        prices: np.ndarray | None = None,
        graph: ItemGraph | None = None,
        encoder: TextEncoder | None = None,
        bundle_names: Sequence[str] = (),
        search: ItemSearch | None = None,
        user_items: sp.spmatrix | None = None,
        intent_index: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.titles = [str(t) for t in titles]
        n = len(self.titles)
        self.membership = sp.csr_matrix(membership, dtype=np.float32)
        _check_length("membership columns", self.membership.shape[1], n)
        self.cooccurrence = cooccurrence_counts(self.membership)
        self.copurchase = None if user_items is None else cooccurrence_counts(user_items)
        if self.copurchase is not None:
            _check_length("user_items columns", self.copurchase.shape[0], n)
        counts = np.asarray((self.membership > 0).sum(axis=0), dtype=np.float64).ravel()
        self.popularity = counts if popularity is None else np.asarray(popularity, dtype=np.float64)
        self.vectors = None if vectors is None else normalise(np.asarray(vectors, dtype=np.float32))
        self.categories = None if categories is None else np.asarray(categories, dtype=np.int64)
        self.prices = None if prices is None else np.asarray(prices, dtype=np.float64)
        for label, array in (("popularity", self.popularity), ("vectors", self.vectors),
                             ("categories", self.categories), ("prices", self.prices)):  # fmt: skip
            if array is not None:
                _check_length(label, len(array), n)
        if graph is not None:
            _check_length("graph items", graph.n_items, n)
        self.graph = graph
        self.encoder = encoder
        self.bundle_names = tuple(str(name) for name in bundle_names)
        if self.bundle_names:
            _check_length("bundle_names", len(self.bundle_names), self.membership.shape[0])
        self.search = search
        self._name_rows: np.ndarray | None = None
        self._name_vectors: np.ndarray | None = None
        if intent_index is not None:
            self._name_rows, self._name_vectors = intent_index

    @classmethod
    def from_dataset(
        cls,
        data: Dataset,
        bundles: np.ndarray | None = None,
        vectors: np.ndarray | None = None,
        encoder: TextEncoder | None = None,
        search: ItemSearch | None = None,
        with_graph: bool = True,
        with_interactions: bool = False,
    ) -> BundleGenerator:
        """A generator over a dataset's catalogue and bundles.

        Args:
            data: a dataset with bundles.
            bundles: int64 indices of the bundles whose statistics may be used (None = all). The item graph is
                built from these bundles only, so held-out bundles leave no trace.
            vectors, encoder, search: as in the constructor.
            with_graph: build an `ItemGraph` from the catalogue and the allowed bundles.
            with_interactions: count co-purchases in `data.interactions` (only where that log does not contain
                the held-out bundles).
        """
        if data.bundles is None:
            raise ConfigError(f"dataset '{data.name}' has no bundles to learn from")
        membership = data.bundles.membership
        if bundles is not None:
            membership = keep_rows(membership, bundles)
        graph = None
        if with_graph:
            graph = ItemGraph.from_catalog(data.catalog, dataclasses.replace(data.bundles, membership=membership))
        return cls(
            titles=[data.catalog.title(i) for i in range(len(data.catalog))],
            membership=membership,
            vectors=vectors,
            categories=most_specific_categories(data.catalog.category_matrix()[0] if any(data.catalog.categories)
                                                else None),
            prices=data.catalog.prices(),
            graph=graph,
            encoder=encoder,
            bundle_names=data.bundles.names,
            search=search,
            user_items=data.interactions.matrix() if with_interactions else None,
        )

    @property
    def n_items(self) -> int:
        return len(self.titles)

    # ------------------------------------------------------------------------- entry points

    def from_items(
        self,
        seed_items: Sequence[int] | np.ndarray,
        k: int | None = None,
        params: GenerateParams | None = None,
        unavailable: np.ndarray | None = None,
    ) -> GeneratedBundle:
        """Complete a bundle around seed items; the seeds are never returned.

        Args:
            seed_items: item indices (ints) already in the bundle.
            k: items to add (default `params.k`).
            params: weights and composition rules (default `GenerateParams()`).
            unavailable: int item indices never returned (e.g. deleted from the catalogue), or None.
        """
        p, k = self._settings(k, params)
        seeds = self._items(seed_items)
        scores = self._blend(self._seed_signals(seeds), p, self._allowed(seeds, seeds, p, unavailable))
        items, values = self._compose(scores, seeds, k, p)
        return GeneratedBundle(items, values, [self._seed_reason(int(i), seeds, owned=False) for i in items])

    def for_user(
        self,
        history: Sequence[int] | np.ndarray | sp.spmatrix,
        k: int | None = None,
        params: GenerateParams | None = None,
        unavailable: np.ndarray | None = None,
    ) -> GeneratedBundle:
        """A bundle that goes with what a user has.

        Args:
            history: the user's item indices oldest first (the last `user_seeds` are the seeds), or a
                [1, n_items] sparse row / float[n_items] array of strengths (the `user_seeds` strongest are
                the seeds, ties by lower index). Every item of the history is excluded from the bundle.
            k, params, unavailable: as in `from_items`.
        """
        p, k = self._settings(k, params)
        owned, seeds = self._history(history, p.user_seeds)
        scores = self._blend(self._seed_signals(seeds), p, self._allowed(owned, seeds, p, unavailable))
        items, values = self._compose(scores, seeds, k, p)
        return GeneratedBundle(items, values, [self._seed_reason(int(i), seeds, owned=True) for i in items])

    def from_intent(
        self,
        text: str,
        k: int | None = None,
        params: GenerateParams | None = None,
        unavailable: np.ndarray | None = None,
    ) -> GeneratedBundle:
        """A bundle for a free-text intent ("camping trip for two"): intent evidence, then the same composition;
        k, params and unavailable as in `from_items`."""
        p, k = self._settings(k, params)
        intent = " ".join(str(text).split())
        if not intent:
            raise RequestError("the intent text is empty; describe what the bundle is for", field="intent")
        signals: dict[str, np.ndarray] = {"popularity": np.log1p(self.popularity)}
        neighbours = np.zeros(0, dtype=np.int64)
        if self.encoder is not None and self.vectors is not None:
            query = self._encode_intent(intent)
            signals["semantic"] = self.vectors @ query
            neighbours, weights = self._intent_neighbours(query, p.intent_neighbours)
            signals["intent_bundles"] = np.asarray(weights @ self.membership[neighbours], dtype=np.float64).ravel()
        if self.search is not None:
            signals["lexical"] = np.asarray(self.search.lexical.scores(intent), dtype=np.float64)
        if "semantic" not in signals and "lexical" not in signals:
            raise ConfigError("generating from an intent needs item vectors with an encoder, or an ItemSearch")
        none = np.zeros(0, dtype=np.int64)
        scores = self._blend(signals, p, self._allowed(none, none, p, unavailable))
        items, values = self._compose(scores, none, k, p)
        reasons = [self._intent_reason(int(i), intent, neighbours) for i in items]
        return GeneratedBundle(items, values, reasons)

    # ------------------------------------------------------------------------- scoring

    def _settings(self, k: int | None, params: GenerateParams | None) -> tuple[GenerateParams, int]:
        p = params or GenerateParams()
        validate(p, "bundle generation")
        k = p.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise RequestError(f"k must be a positive number of items, got {k!r}", field="k")
        return p, int(k)

    def _items(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        """int64[m] distinct item indices in their first order; unknown indices raise `UnknownIdError`."""
        array = np.asarray(items).reshape(-1)
        if len(array) == 0:
            raise RequestError("at least one seed item is needed", field="item_ids")
        if not np.issubdtype(array.dtype, np.integer):
            raise UnknownIdError(f"item indices must be integers, got {array.dtype} values")
        bad = array[(array < 0) | (array >= self.n_items)]
        if len(bad):
            raise UnknownIdError(f"unknown item index {int(bad[0])}: items are 0..{self.n_items - 1}")
        return pd.unique(array.astype(np.int64))

    def _history(
        self, history: Sequence[int] | np.ndarray | sp.spmatrix, n_seeds: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(int64 owned items, int64 seeds) from an ordered item list or a row of strengths."""
        if sp.issparse(history) or (isinstance(history, np.ndarray) and history.dtype.kind == "f"):
            strengths = np.asarray(history.toarray() if sp.issparse(history) else history, dtype=np.float64).ravel()
            _check_length("history strengths", len(strengths), self.n_items)
            owned = np.flatnonzero(strengths > 0)
            if len(owned) == 0:
                raise RequestError("the user's history is empty; generate from items or an intent instead")
            strongest = owned[np.lexsort((owned, -strengths[owned]))]
            return owned.astype(np.int64), strongest[:n_seeds].astype(np.int64)
        owned = self._items(history)
        return owned, owned[-n_seeds:]

    def _seed_signals(self, seeds: np.ndarray) -> dict[str, np.ndarray]:
        """Signal name -> float64[n_items] evidence that each item goes with the seeds."""
        signals = {
            "cooccurrence": np.log1p(np.asarray(self.cooccurrence[seeds].sum(axis=0), dtype=np.float64).ravel()),
            "popularity": np.log1p(self.popularity),
        }
        if self.copurchase is not None:
            signals["copurchase"] = np.log1p(np.asarray(self.copurchase[seeds].sum(axis=0), np.float64).ravel())
        if self.vectors is not None:
            signals["semantic"] = (self.vectors @ self.vectors[seeds].T).mean(axis=1).astype(np.float64)
        if self.graph is not None:
            signals["graph"] = self.graph.relatedness(seeds).mean(axis=0).astype(np.float64)
        return signals

    def _allowed(
        self, excluded: np.ndarray, anchors: np.ndarray, p: GenerateParams, unavailable: np.ndarray | None = None
    ) -> np.ndarray:
        """bool[n_items]: items that may enter a bundle around `anchors` (`excluded` and `unavailable` never)."""
        allowed = np.ones(self.n_items, dtype=bool)
        allowed[excluded] = False
        if unavailable is not None:
            allowed[np.asarray(unavailable, dtype=np.int64)] = False
        if self.vectors is not None and len(anchors) and p.substitute_similarity < 1.0:
            allowed &= (self.vectors @ self.vectors[anchors].T).max(axis=1) <= p.substitute_similarity
        if self.categories is not None and p.max_per_category > 0 and len(anchors):
            counts = Counter(int(c) for c in self.categories[anchors] if c >= 0)
            full = [c for c, n in counts.items() if n >= p.max_per_category]
            allowed &= ~np.isin(self.categories, full)
        if self.prices is not None and p.budget is not None:
            allowed &= np.isfinite(self.prices) & (self.prices <= p.budget)
        return allowed

    @staticmethod
    def _blend(signals: dict[str, np.ndarray], p: GenerateParams, allowed: np.ndarray) -> np.ndarray:
        """float64[n_items]: Σ weight · z-score of each signal over the pool; -inf outside the pool.

        The pool is the union of the `candidates` best allowed items of every weighted signal.
        """
        weights = {"cooccurrence": p.cooccurrence_weight, "intent_bundles": p.intent_bundle_weight,
                   "copurchase": p.copurchase_weight,
                   "semantic": p.semantic_weight, "lexical": p.lexical_weight, "graph": p.graph_weight,
                   "popularity": p.popularity_weight}  # fmt: skip
        used = {name: values for name, values in signals.items() if weights[name] > 0}
        in_pool = np.zeros(len(allowed), dtype=bool)
        for values in used.values():
            best, _ = top_k(np.where(allowed, values, -np.inf)[None, :], p.candidates)
            in_pool[best[0][best[0] >= 0]] = True
        scores = np.full(len(allowed), -np.inf)
        scores[in_pool] = 0.0
        for name, values in used.items():
            scores[in_pool] += weights[name] * standardise(values[in_pool])
        return scores

    # ------------------------------------------------------------------------- composition

    def _compose(
        self, scores: np.ndarray, anchors: np.ndarray, k: int, p: GenerateParams
    ) -> tuple[np.ndarray, np.ndarray]:
        """(int64[k'] items, float64[k'] scores): the pool in DPP order, taken while the rules allow."""
        ranked, _ = top_k(scores[None, :], p.candidates)
        pool = ranked[0][ranked[0] >= 0]
        counts = Counter(int(c) for c in self.categories[anchors] if c >= 0) if self.categories is not None else None
        chosen: list[int] = []
        spent = 0.0
        for position in self._order(pool, scores[pool], k, p):
            item = int(pool[position])
            if self._substitute(item, chosen, p) or self._category_full(item, counts, p):
                continue
            price = self._price(item, p)
            if spent + price > (np.inf if p.budget is None else p.budget):
                continue
            chosen.append(item)
            spent += price
            if counts is not None and self.categories is not None and self.categories[item] >= 0:
                counts[int(self.categories[item])] += 1
            if len(chosen) == k:
                break
        items = np.asarray(chosen, dtype=np.int64)
        return items, scores[items].astype(np.float64)

    def _order(self, pool: np.ndarray, scores: np.ndarray, k: int, p: GenerateParams) -> np.ndarray:
        """int64[len(pool)] positions: greedy DPP MAP order of the first picks, then the rest in score order."""
        if self.vectors is None or p.diversity == 0 or len(pool) < 2:
            return np.arange(len(pool))
        theta = 1.0 - p.diversity
        alpha = min(theta / (2.0 * p.diversity), MAX_QUALITY_EXPONENT)  # tiny diversity: score order, never inf
        quality = np.exp(np.clip(alpha * standardise(scores), -50.0, 50.0))
        depth = min(len(pool), DPP_DEPTH * k + 10)
        head = dpp_select(self.vectors[pool].astype(np.float64), quality, depth)
        rest = np.setdiff1d(np.arange(len(pool)), head, assume_unique=True)
        return np.concatenate([head, rest])

    def _substitute(self, item: int, chosen: list[int], p: GenerateParams) -> bool:
        if self.vectors is None or not chosen or p.substitute_similarity >= 1.0:
            return False
        return bool((self.vectors[chosen] @ self.vectors[item]).max() > p.substitute_similarity)

    def _category_full(self, item: int, counts: Counter[int] | None, p: GenerateParams) -> bool:
        if counts is None or self.categories is None or p.max_per_category == 0 or self.categories[item] < 0:
            return False
        return counts[int(self.categories[item])] >= p.max_per_category

    def _price(self, item: int, p: GenerateParams) -> float:
        """The item's price when a budget applies (NaN prices were filtered out before), else 0."""
        if self.prices is None or p.budget is None:
            return 0.0
        return float(self.prices[item])

    # ------------------------------------------------------------------------- intents

    def _encode_intent(self, text: str) -> np.ndarray:
        """float32[d] unit vector of one intent (query-side encoding where the encoder has one)."""
        assert self.encoder is not None
        encode = getattr(self.encoder, "encode_queries", None) or self.encoder.encode
        return normalise(np.asarray(encode([text]), dtype=np.float32))[0]

    def intent_index(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(int64[m] bundle rows with a name and items, float32[m, d] unit vectors of their names or None).

        Encoded once (on first use, or passed to the constructor as `intent_index` from a saved model).
        """
        if self._name_rows is None:
            self._name_rows, self._name_vectors = encode_intents(self.membership, self.bundle_names, self.encoder)
        return self._name_rows, self._name_vectors

    def _intent_neighbours(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(int64[n'] bundle rows, float64[n'] weights max(0, cos)) of the bundles whose names are closest."""
        rows, vectors = self.intent_index()
        if n == 0 or vectors is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        similarity = (vectors @ query).astype(np.float64)
        best, _ = top_k(similarity[None, :], n)
        best = best[0][best[0] >= 0]
        return rows[best], np.maximum(similarity[best], 0.0)

    # ------------------------------------------------------------------------- reasons

    def _seed_reason(self, item: int, seeds: np.ndarray, owned: bool) -> str:
        """Why `item` goes with the seeds: the seed it is most often bundled with, else the most related one."""
        counts = np.asarray(self.cooccurrence[seeds][:, [item]].toarray(), dtype=np.float64).ravel()
        closeness = counts
        if counts.max() == 0 and self.graph is not None:
            closeness = self.graph.relatedness(seeds)[:, item].astype(np.float64)
        if closeness.max() <= 0 and self.vectors is not None:
            closeness = (self.vectors[seeds] @ self.vectors[item]).astype(np.float64)
        seed = int(seeds[int(np.argmax(closeness))])
        title = short_title(self.titles[seed])
        n = int(counts.max())
        together = f"{n} bundle{'s' if n > 1 else ''}"
        if owned:
            parts = [f"goes with {title} you bought"] + ([f"bundled together in {together}"] if n else [])
        else:
            parts = [f"{'often ' if n > 1 else ''}bundled with {title} ({together})" if n else f"goes with {title}"]
        shared = self.graph.reason(seed, item) if self.graph is not None else ""
        if shared:
            parts.append(shared)
        elif n == 0 and self.vectors is not None:
            parts.append("close in purpose")
        return "; ".join(parts)

    def _intent_reason(self, item: int, intent: str, neighbours: np.ndarray) -> str:
        """The "matches “intent”" reason, with the matched words and a close intent whose bundles hold the item."""
        head = f"matches “{intent}”"
        if self.search is not None:
            words = self.search.lexical.matched_terms(intent, self.search.texts[item])
            if words:
                head += " (" + ", ".join(words[:3]) + ")"
        holding = [int(b) for b in neighbours if self.membership[int(b), item] > 0]
        if holding and self.bundle_names:
            return f"{head}; in bundles for “{self.bundle_names[holding[0]]}”"
        return head


def _check_length(label: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise ValueError(f"{label} has {actual} entries, expected {expected}")
