"""Search over the catalogue: lexical (BM25) and dense (item vectors) retrieval, fused, then personalised,
diversified and de-duplicated.

    query ─┬─ BM25 over the item texts ─────── top `candidates` ─┐
           └─ encoder(query) · item vectors ── top `candidates` ─┴─ weighted fusion (or RRF)
              ─▶ + personalisation · z(cos(user profile, item))      (optional)
              ─▶ MMR / DPP / xQuAD re-ranking, λ = diversity        (optional)
              ─▶ near-duplicate collapse (cosine ≥ collapse)          (optional) ─▶ top k + reasons
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from prismrec.core.ranking import top_k
from prismrec.data.items import category_mask
from prismrec.params import param
from prismrec.profiles.interests import normalise
from prismrec.rerank.base import standardise, unit_interval
from prismrec.rerank.dpp import dpp_select
from prismrec.rerank.mmr import mmr_select
from prismrec.rerank.xquad import xquad_select
from prismrec.search.fusion import reciprocal_rank_fusion, weighted_fusion
from prismrec.search.lexical import LexicalIndex
from prismrec.semantic.encoder import TextEncoder

MODES = ("fused", "lexical", "dense")
FUSIONS = ("rrf", "weighted")
SEARCH_RERANKERS = ("mmr", "dpp", "xquad")


@dataclass(frozen=True)
class SearchParams:
    mode: str = param("fused", "lexical (BM25), dense (item vectors) or both fused", choices=MODES)
    fusion: str = param("weighted", "a weighted sum of min-max scaled scores, or reciprocal-rank fusion (rrf)",
                        choices=FUSIONS)  # fmt: skip
    rrf_k: int = param(60, "RRF smoothing constant", min=1)
    lexical_weight: float = param(0.4, "weight of BM25 in either fusion (dense gets 1 - it)", min=0.0, max=1.0)
    candidates: int = param(100, "items each retriever contributes", min=1)
    personalisation: float = param(0.0, "weight of the user's profile cosine, in standard deviations", min=0.0)
    diversity: float = param(0.0, "MMR λ over the item vectors of the fused candidates (0 = relevance order)",
                             min=0.0, max=1.0)  # fmt: skip
    reranker: str = param("mmr", "diversifier: mmr or dpp over the item vectors, xquad over the candidates' "
                          "categories (the query's aspects)", choices=SEARCH_RERANKERS)  # fmt: skip
    collapse: float = param(0.0, "hide items whose vector cosine to a shown item is at least this (0 = off)",
                            min=0.0, max=1.0)  # fmt: skip


@dataclass(frozen=True)
class SearchHits:
    """Items best first (int64[k']), their fused scores (float32[k']) and a reason each."""

    items: np.ndarray
    scores: np.ndarray
    reasons: list[str] = field(default_factory=list)


class ItemSearch:
    """Search one catalogue.

    Args:
        texts: the indexed text of every item (item index order).
        vectors: float32[n_items, d] item vectors from `encoder`, or None (lexical search only).
        encoder: encodes queries into the vectors' space, or None.
        categories: 0/1 CSR [n_items, n_categories] (filters), or None.
        category_names: the label of each category column.
    """

    def __init__(
        self,
        texts: list[str],
        vectors: np.ndarray | None = None,
        encoder: TextEncoder | None = None,
        categories: sp.csr_matrix | None = None,
        category_names: tuple[str, ...] = (),
    ) -> None:
        self.texts = texts
        self.lexical = LexicalIndex(texts)
        self.vectors = normalise(np.asarray(vectors, dtype=np.float32)) if vectors is not None else None
        self.encoder = encoder if vectors is not None else None
        self.categories = categories
        self.category_names = category_names

    @property
    def n_items(self) -> int:
        return len(self.texts)

    def in_category(self, name: str) -> np.ndarray:
        """bool[n_items]: items labelled `name` (none when the label is unknown)."""
        return category_mask(self.categories, self.category_names, name, self.n_items)

    def search(
        self,
        query: str,
        k: int = 10,
        params: SearchParams | None = None,
        profile: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
    ) -> SearchHits:
        """The top-k items for a free-text query.

        Args:
            query: the user's words (any language the tokenizer and encoder handle).
            k: page size.
            params: retrieval, fusion, personalisation and diversity settings.
            profile: float32[d] the user's interest vector in the item-vector space (personalisation), or None.
            allowed: bool[n_items] items that may be returned (filters), or None for all.
        """
        p = params or SearchParams()
        allowed = np.ones(self.n_items, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
        use_dense = p.mode != "lexical" and self.vectors is not None and self.encoder is not None
        use_lexical = p.mode != "dense" or not use_dense
        lexical = self.lexical.scores(query) if use_lexical else None
        dense = self._dense(query) if use_dense else None
        rankings = []
        if lexical is not None:
            rankings.append(_ranked(np.where(allowed & (lexical > 0), lexical, -np.inf), p.candidates))
        if dense is not None:
            rankings.append(_ranked(np.where(allowed, dense, -np.inf), p.candidates))
        candidates = np.unique(np.concatenate(rankings)) if rankings else np.zeros(0, dtype=np.int64)
        if len(candidates) == 0:
            return SearchHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), [])
        relevance = self._fuse(p, lexical, dense, rankings, candidates)
        if profile is not None and p.personalisation > 0 and self.vectors is not None and np.any(profile):
            personal = self.vectors[candidates] @ normalise(np.asarray(profile, dtype=np.float32)[None])[0]
            relevance = standardise(relevance) + p.personalisation * standardise(personal)
        order = np.argsort(-relevance, kind="stable")
        candidates, relevance = candidates[order], relevance[order]
        chosen = self._page(candidates, relevance, k, p)
        items = candidates[chosen]
        reasons = [self._reason(query, int(i), lexical, dense, profile is not None and p.personalisation > 0)
                   for i in items]  # fmt: skip
        return SearchHits(items.astype(np.int64), relevance[chosen].astype(np.float32), reasons)

    def _dense(self, query: str) -> np.ndarray:
        assert self.encoder is not None and self.vectors is not None
        # Asymmetric encoders (e5) embed queries with their own prefix; the others encode queries like items.
        encode = getattr(self.encoder, "encode_queries", None) or self.encoder.encode
        vector = normalise(np.asarray(encode([query]), dtype=np.float32))[0]
        return self.vectors @ vector

    @staticmethod
    def _fuse(p: SearchParams, lexical: np.ndarray | None, dense: np.ndarray | None, rankings: list[np.ndarray],
              candidates: np.ndarray) -> np.ndarray:  # fmt: skip
        if len(rankings) == 1:
            only = lexical if lexical is not None else dense
            assert only is not None
            return np.asarray(only, dtype=np.float64)[candidates]
        assert lexical is not None and dense is not None
        weights = [p.lexical_weight, 1.0 - p.lexical_weight]
        if p.fusion == "rrf":
            return reciprocal_rank_fusion(rankings, len(lexical), p.rrf_k, weights)[candidates]
        return weighted_fusion([lexical, dense], weights, candidates)

    def _page(self, candidates: np.ndarray, relevance: np.ndarray, k: int, p: SearchParams) -> np.ndarray:
        """int64[<= k] positions into the relevance-ordered candidates: MMR, then near-duplicate collapse."""
        if self.vectors is None or (p.diversity == 0 and p.collapse == 0):
            return np.arange(min(k, len(candidates)))
        unit = self.vectors[candidates]
        order = self._diversify(candidates, relevance, p) if p.diversity > 0 else np.arange(len(candidates))
        if p.collapse == 0:
            return order[:k]
        kept: list[int] = []
        for position in order:
            if not kept or float(np.max(unit[kept] @ unit[position])) < p.collapse:
                kept.append(int(position))
                if len(kept) == k:
                    break
        return np.asarray(kept, dtype=np.int64)

    def _diversify(self, candidates: np.ndarray, relevance: np.ndarray, p: SearchParams) -> np.ndarray:
        """All candidate positions in the diversified order (the same selection code as recommendation)."""
        assert self.vectors is not None
        m = len(candidates)
        scaled = unit_interval(relevance)
        if p.reranker == "dpp":
            theta = 1.0 - p.diversity
            alpha = theta / (2.0 * (1.0 - theta)) if theta < 1 else 50.0
            quality = np.exp(np.clip(alpha * standardise(relevance), -50.0, 50.0))
            return dpp_select(self.vectors[candidates].astype(np.float64), quality, m)
        if p.reranker == "xquad" and self.categories is not None:
            membership = (self.categories[candidates].toarray() > 0).astype(np.float64)
            aspects = scaled @ membership  # the query's aspects: categories weighted by the candidates' relevance
            target = aspects / aspects.sum() if aspects.sum() > 0 else aspects
            return xquad_select(membership, scaled, target, p.diversity, m)
        return mmr_select(self.vectors[candidates], scaled, p.diversity, m)

    def _reason(self, query: str, item: int, lexical: np.ndarray | None, dense: np.ndarray | None,
                personal: bool) -> str:  # fmt: skip
        parts = []
        if lexical is not None and lexical[item] > 0:
            terms = self.lexical.matched_terms(query, self.texts[item])
            if terms:
                parts.append("matches " + ", ".join(f"“{t}”" for t in terms[:3]))
        if dense is not None and not parts:
            parts.append(f"close in meaning to “{query}”")
        if personal:
            parts.append("ranked for your interests")
        return "; ".join(parts)


def _ranked(scores: np.ndarray, k: int) -> np.ndarray:
    """int64[<= k] indices of the largest finite scores of one row, best first (-inf entries never)."""
    items, _ = top_k(np.asarray(scores, dtype=np.float32)[None, :], k)
    return items[0][items[0] >= 0]
