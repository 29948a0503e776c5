"""A fitted bundle scorer with its signals and bundle names: top-K bundles per user, with reasons, saved
as `.npy` arrays + JSON (no pickle) in a `bundles/` folder of a pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from prismrec.bundles.config import BundleScorerConfig
from prismrec.bundles.generate import BundleGenerator, encode_intents, most_specific_categories
from prismrec.bundles.scorers import (
    BundleEASE,
    BundleScorer,
    FusedBundleEASE,
    reads_text,
    text_affinity,
    user_item_rows,
)
from prismrec.bundles.signals import BundleSignals
from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.data.schema import Bundles, Dataset, IdMap
from prismrec.errors import PrismrecError
from prismrec.graph.item_graph import JSON_FILE as GRAPH_JSON
from prismrec.graph.item_graph import ItemGraph
from prismrec.search.searcher import ItemSearch
from prismrec.semantic.encoder import TextEncoder

SIGNALS = ("user_bundles", "user_items", "membership")


@dataclass(frozen=True)
class BundleList:
    """Top bundles for one user.

    Attributes:
        bundles: int64[k] bundle indices, best first.
        scores: float32[k] scorer scores.
        reasons: one short sentence per bundle.
    """

    bundles: np.ndarray
    scores: np.ndarray
    reasons: list[str]


class BundleRecommender:
    """Recommends ready-made bundles to users.

    Args:
        config: the bundle scorer and its parameters.
    """

    def __init__(self, config: BundleScorerConfig) -> None:
        self.config = config
        self.scorer: BundleScorer = config.create()
        self.bundle_ids = IdMap([])
        self.names: list[str] = []
        self._signals: BundleSignals | None = None
        self.graph: ItemGraph | None = None  # item–attribute graph (categories, brands, tags, bundles): reasons
        self.item_prices: np.ndarray | None = None  # float64[n_items], NaN = unknown; None without a price column
        # bundles with an intent and the unit vectors of their intents (encoder of the pipeline), for generation
        self.intent_index: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def signals(self) -> BundleSignals:
        if self._signals is None:
            raise PrismrecError("the bundle recommender is not fitted")
        return self._signals

    def fit(self, signals: BundleSignals, bundle_ids: IdMap, names: tuple[str, ...] | list[str]) -> BundleRecommender:
        """Fit the scorer; `names` gives each bundle's display name or intent ("" = none)."""
        self._signals = signals
        self.bundle_ids, self.names = bundle_ids, list(names)
        self.scorer.fit(signals)
        return self

    @classmethod
    def fit_dataset(cls, config: BundleScorerConfig, dataset: Dataset, item_vectors: np.ndarray | None = None
                    ) -> BundleRecommender:  # fmt: skip
        """Fit on every user–bundle pair of the dataset (all parts together) and its user–item log."""
        bundles: Bundles = dataset.bundles  # type: ignore[assignment]
        pairs = np.vstack([np.zeros((0, 2), dtype=np.int32), *bundles.user_bundles.values()])
        signals = BundleSignals.from_parts(dataset, {"train": pairs}, "dataset", item_vectors)
        model = cls(config).fit(signals, bundles.bundle_ids, bundles.names)
        model.graph = ItemGraph.from_catalog(dataset.catalog, bundles)
        model.item_prices = dataset.catalog.prices()
        return model

    def name_of(self, bundle: int) -> str:
        """The bundle's name or intent, else "bundle <id>"."""
        return self.names[bundle] or f"bundle {self.bundle_ids.ids[bundle]}"

    def recommend(
        self,
        user: int,
        k: int,
        titles: list[str] | None = None,
        unavailable: np.ndarray | None = None,
        items: sp.csr_matrix | None = None,
    ) -> BundleList:
        """The user's top-k bundles, never one the user already has or one holding an unavailable item, with reasons.

        Args:
            user: user index.
            k: list length (clipped to the number of bundles left).
            titles: item titles by item index, for reasons (item ids are used when None).
            unavailable: int item indices (e.g. deleted from the catalogue), or None.
            items: [1, ≥ n_items] the user's current items (e.g. the service's live history row), or None for
                the items the model was fitted with.
        """
        signals = self.signals
        mine = user_item_rows(signals, np.asarray([user]), items)
        blocked = np.zeros(signals.n_bundles, dtype=bool)
        blocked[signals.user_bundles[user].indices] = True
        known = np.asarray(unavailable if unavailable is not None else [], dtype=np.int64)
        known = known[known < signals.membership.shape[1]]  # items added after the fit are in no bundle
        if len(known):
            holding = signals.membership[:, known].sum(axis=1)
            blocked |= np.asarray(holding).ravel() > 0
        k = min(k, int((~blocked).sum()))
        if k <= 0:
            return BundleList(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), [])
        scores = self.scorer.score(np.asarray([user]), mine)[0]
        scores[blocked] = -np.inf
        # Ties (e.g. a user whose items are in no other bundle scores 0 everywhere) go to the bundles
        # taken by more users, then to those closest in meaning to the user's items; never index order.
        text = np.zeros(signals.n_bundles, dtype=np.float32)
        if signals.item_vectors is not None:
            text = text_affinity(signals, np.asarray([user]), mine)[0]
        order = np.lexsort((-text, -signals.takers, -scores))[:k]
        reasons = [self.reason(user, int(b), mine.indices, titles, float(scores[b])) for b in order]
        return BundleList(order, scores[order], reasons)

    def recommend_new_user(
        self, k: int, titles: list[str] | None = None, unavailable: np.ndarray | None = None,
        items: sp.csr_matrix | None = None,
    ) -> BundleList:  # fmt: skip
        """Top-k bundles for a user the model was not fitted on: the bundles holding the largest share of the
        user's current items (`items`, e.g. live events; none = the most taken bundles), ties by takers."""
        signals = self.signals
        n_known = signals.membership.shape[1]
        blocked = np.zeros(signals.n_bundles, dtype=bool)
        known = np.asarray(unavailable if unavailable is not None else [], dtype=np.int64)
        known = known[known < n_known]
        if len(known):
            blocked |= np.asarray(signals.membership[:, known].sum(axis=1)).ravel() > 0
        owned = np.zeros(0, dtype=np.int64)
        if items is not None and items.nnz:
            owned = items.indices[items.indices < n_known]
        sizes = np.maximum(np.diff(signals.membership.indptr), 1)
        overlap = np.asarray(signals.membership[:, owned].sum(axis=1)).ravel() / sizes
        scores = overlap.astype(np.float32)
        scores[blocked] = -np.inf
        k = min(k, int((~blocked).sum()))
        order = np.lexsort((-signals.takers, -scores))[: max(k, 0)]
        reasons = [self._new_user_reason(int(b), owned, titles) for b in order]
        return BundleList(order, scores[order], reasons)

    def _new_user_reason(self, bundle: int, owned: np.ndarray, titles: list[str] | None) -> str:
        contents = self.signals.membership[bundle].indices
        mine = contents[np.isin(contents, owned)]
        if len(mine):
            first = titles[mine[0]] if titles else f"item {mine[0]}"
            more = f" and {len(mine) - 1} more of its {len(contents)} items" if len(mine) > 1 else ""
            return f"has “{first}” you have{more}"
        takers = int(self.signals.takers[bundle])
        return f"taken by {takers} {'person' if takers == 1 else 'people'}" if takers else "new bundle"

    def reason(
        self,
        user: int,
        bundle: int,
        owned_items: np.ndarray,
        titles: list[str] | None = None,
        score: float | None = None,
    ) -> str:
        """Why `bundle` suits `user` (who has the int item indices `owned_items`): items of it the user has,
        else the user's bundle it goes with, else the user's item closest in meaning to the bundle's contents
        (when the scorer reads text, or `score` is 0 and the text broke the tie), else its popularity."""
        signals = self.signals
        contents = signals.membership[bundle].indices
        mine = contents[np.isin(contents, owned_items)]
        if len(mine):
            first = titles[mine[0]] if titles else f"item {mine[0]}"
            more = f" and {len(mine) - 1} more of its {len(contents)} items" if len(mine) > 1 else ""
            return f"has “{first}” you have{more}"
        owned = signals.user_bundles[user].indices
        scorer = self.scorer
        if len(owned) and isinstance(scorer, BundleEASE):
            closest = int(owned[np.argmax(scorer.weights[owned, bundle])])
            if scorer.weights[closest, bundle] > 0:
                return f"taken by people who took “{self.name_of(closest)}”"
        if isinstance(scorer, FusedBundleEASE) and scorer.params.neighbour_weight > 0:
            takers = signals.user_bundles[:, bundle].nonzero()[0]
            if np.isin(takers, scorer.neighbours[user].indices).any():
                return "taken by people who own items like yours"
        text_decided = reads_text(self.config.name, self.config.params) or score == 0
        if signals.item_vectors is not None and text_decided and len(owned_items) and len(contents):
            centre = signals.item_vectors[contents].mean(axis=0)
            closest = int(owned_items[np.argmax(signals.item_vectors[owned_items] @ centre)])
            label = titles[closest] if titles else f"item {closest}"
            return f"close in meaning to “{label}” you have"
        takers = int(signals.takers[bundle])
        return f"taken by {takers} {'person' if takers == 1 else 'people'}" if takers else "new bundle"

    def generator(
        self,
        titles: list[str],
        vectors: np.ndarray | None,
        categories: sp.csr_matrix | None,
        encoder: TextEncoder | None,
        search: ItemSearch | None,
    ) -> BundleGenerator:
        """A composer over these bundles and the pipeline's current items (`titles` in item index order).

        Items added after the fit (beyond the fitted item count) join with no bundle, graph or price data.
        """
        n_items = len(titles)
        membership = self.signals.membership.copy()
        membership.resize((membership.shape[0], n_items))
        prices = self.item_prices
        if prices is not None and len(prices) < n_items:
            prices = np.concatenate([prices, np.full(n_items - len(prices), np.nan)])
        graph = self.graph.with_items(n_items) if self.graph is not None else None
        return BundleGenerator(titles, membership, vectors=vectors, categories=most_specific_categories(categories),
                               prices=prices, graph=graph, encoder=encoder, bundle_names=self.names, search=search,
                               intent_index=self.intent_index)  # fmt: skip

    def encode_intents(self, encoder: TextEncoder) -> None:
        """Encode the known bundles' intents once (saved with the model) so generation from an intent does not."""
        rows, vectors = encode_intents(self.signals.membership, self.names, encoder)
        self.intent_index = (rows, vectors) if vectors is not None else None

    def save(self, directory: str | Path) -> Path:
        """Write the config, bundle ids and names, the signals and the scorer state to `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        signals = self.signals
        (directory / "bundles.json").write_text(
            json.dumps({"config": self.config.to_dict(), "bundle_ids": list(self.bundle_ids.ids), "names": self.names},
                       ensure_ascii=False),
            encoding="utf-8",
        )  # fmt: skip
        arrays = {name: state for part in SIGNALS for name, state in sparse_state(part, getattr(signals, part)).items()}
        arrays.update({f"scorer.{name}": array for name, array in self.scorer.state().items()})
        if self.item_prices is not None:
            arrays["item_prices"] = self.item_prices
        if self.intent_index is not None:
            arrays["intent_rows"], arrays["intent_vectors"] = self.intent_index
        for name, array in arrays.items():
            np.save(directory / f"{name}.npy", array)
        if self.graph is not None:
            self.graph.save(directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path, item_vectors: np.ndarray | None = None) -> BundleRecommender:
        """Read a folder written by `save`; `item_vectors` are the pipeline's (for the text signal)."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "bundles.json").read_text(encoding="utf-8"))
            config = BundleScorerConfig.build(meta["config"].pop("name"), meta["config"])
            arrays = {p.stem: np.load(p, allow_pickle=False) for p in directory.glob("*.npy")}
            signals = BundleSignals(*(sparse_from_state(part, arrays) for part in SIGNALS), item_vectors)
        except (KeyError, ValueError, OSError) as error:
            raise PrismrecError(f"{directory}: saved bundle model is incomplete or damaged ({error!r})") from None
        model = cls(config)
        model._signals = signals
        model.bundle_ids, model.names = IdMap(meta["bundle_ids"]), list(meta["names"])
        state = {name.removeprefix("scorer."): array for name, array in arrays.items() if name.startswith("scorer.")}
        model.scorer.restore(signals, state)
        model.item_prices = arrays.get("item_prices")
        if "intent_rows" in arrays:
            model.intent_index = (arrays["intent_rows"], arrays["intent_vectors"])
        if (directory / GRAPH_JSON).is_file():
            try:
                model.graph = ItemGraph.load(directory)
            except (KeyError, ValueError, OSError) as error:
                raise PrismrecError(f"{directory}: saved item graph is damaged ({error!r})") from None
        return model

