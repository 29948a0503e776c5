"""TF-IDF + LSA encoder: the fallback that needs no torch, fitted on the catalogue's own texts.

Words and, for Chinese/Japanese text, single characters are tokens; word bigrams add phrases (and
character bigrams, which approximate Chinese words without a segmenter). LSA (truncated SVD)
compresses the sparse vectors to `dim` dense components.
"""

from __future__ import annotations

import hashlib
from typing import Self

import numpy as np
from threadpoolctl import threadpool_limits

# One CJK ideograph, or a run of 2+ word characters.
TOKEN_PATTERN = r"(?u)[\u3400-\u9fff\uf900-\ufaff]|\b\w\w+\b"


class TfidfEncoder:
    """Sparse TF-IDF (sublinear tf, unigrams + bigrams) reduced by LSA to `dim` unit vectors.

    Args:
        dim: number of LSA components (capped by the corpus size).
        seed: seed of the randomized SVD.
    """

    def __init__(self, dim: int = 256, seed: int = 42) -> None:
        self.dim = dim
        self.seed = seed
        self.model_id = f"tfidf:unfitted:{dim}"
        self._vectorizer = None
        self._components: np.ndarray | None = None

    def fit(self, corpus: list[str]) -> Self:
        """Learn the vocabulary, idf weights and LSA components from the catalogue texts."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [t for t in corpus if t.strip()] or ["empty"]
        self._vectorizer = TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, 2), sublinear_tf=True,
                                           min_df=1, dtype=np.float32)  # fmt: skip
        try:
            sparse = self._vectorizer.fit_transform(texts)
        except ValueError:  # no token at all (e.g. only punctuation): a one-word placeholder vocabulary
            sparse = self._vectorizer.fit_transform(["empty"])
        n_features = sparse.shape[1]
        if n_features <= self.dim:
            # A small vocabulary needs no compression: keep every tf-idf dimension.
            self._components = np.eye(n_features, dtype=np.float32)
        else:
            svd = TruncatedSVD(n_components=self.dim, random_state=self.seed)
            # One BLAS thread: threaded OpenBLAS stalls badly when another process holds a core.
            with threadpool_limits(1, "blas"):
                svd.fit(sparse)
            self._components = svd.components_.astype(np.float32)
        corpus_hash = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]
        self.model_id = f"tfidf:{corpus_hash}:{len(self._components)}"
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32[len(texts), n_components], L2-normalised (zero rows for texts with no known token)."""
        assert self._vectorizer is not None and self._components is not None, "call fit(corpus) first"
        dense = np.asarray(self._vectorizer.transform(texts) @ self._components.T, dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)
