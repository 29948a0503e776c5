"""SANSA-style sparse approximate EASE for catalogues of 10^5–10^6 items (Spišák et al., RecSys 2023).

EASE needs P = (XᵀX + λI)⁻¹, a dense n_items² matrix. SANSA keeps everything sparse:

1. G ≈ XᵀX with each item's `neighbours` largest co-occurrence counts (computed in blocks of items, as
   item-kNN does), the diagonal raised by the counts each row lost (so G stays positive semi-definite);
   A = G + λI;
2. an incomplete factorisation of A in a fill-reducing order p (SuperLU's threshold ILU with a
   symmetric permutation and no pivoting, `drop_tol`, `fill_factor`): A[p][:, p] ≈ L D Lᵀ, L unit
   lower-triangular, D = diag(U);
3. K ≈ L⁻¹ by Newton–Schulz steps K ← K(2I − L K), each pruned to `inverse_entries` per column;
4. P ≈ Kᵀ D⁻¹ K. With `score_entries` = 0 it is never formed: scores s = x − (x Kᵀ D⁻¹ K) / diag(P), so
   B = I − P / diag(P) has a zero diagonal exactly as in EASE — but x P reaches most of the catalogue, so
   each user costs a dense row. With `score_entries` = m > 0, B itself is formed column block by column
   block and each row keeps its m largest-magnitude weights: s = x B is then a sparse product that
   costs at most |x| · m per user, and is ranked without densifying. (Keeping each column's largest
   instead leaves the rows of popular items nearly full: 31,000 scores per user at 50k items.)

The `sansa` package on PyPI implements the same method on CHOLMOD (scikit-sparse), which does not build
against the SuiteSparse that Debian ships here; this version needs scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spilu

from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.errors import ConfigError
from prismrec.models.base import Scorer
from prismrec.models.itemknn import BYTES_PER_CELL, block_size, top_cooccurrences
from prismrec.models.memory import DataShape
from prismrec.params import param

WEIGHT_BLOCK = 2048  # columns of P formed at once while pruning B (memory ∝ block × P's entries per column)


@dataclass(frozen=True)
class SANSAParams:
    lambda_: float = param(250.0, "L2 regularisation λ added to the Gram matrix diagonal", min=1e-6)
    neighbours: int = param(50, "largest co-occurrence counts kept per item in the Gram matrix", min=1)
    drop_tol: float = param(1e-3, "incomplete factorisation: entries below this (relative) are dropped", min=0.0)
    fill_factor: float = param(2.0, "incomplete factorisation: at most this many times A's entries", min=1.0)
    inverse_entries: int = param(50, "entries kept per column of the approximate inverse factor", min=1)
    iterations: int = param(2, "Newton–Schulz refinements of the inverse factor", min=0, max=10)
    score_entries: int = param(200, "weights kept per history item (row) of the scoring matrix B (0: exact scores "
                               "through the factors, a dense row per user)", min=0)  # fmt: skip


class SANSA(Scorer):
    name = "sansa"
    Params = SANSAParams

    def peak_bytes(self, shape: DataShape) -> int:
        """Blocked co-occurrence counts, the pruned Gram matrix, the incomplete factors and the inverse factor
        (with one product's intermediate), all CSR of float64 values and int32 indices."""
        p, n = self.params, shape.n_items
        gram = 2 * n * min(p.neighbours, max(n - 1, 1)) + n
        block = block_size(n)
        inverse = n * min(p.inverse_entries, n)
        weights = n * min(p.score_entries, n)
        return (3 * shape.matrix_bytes + BYTES_PER_CELL * n * block + 2 * 12 * gram
                + 12 * int(p.fill_factor * gram) + 3 * 12 * inverse * 4 + 3 * 12 * weights)  # fmt: skip

    def _fit(self, history: sp.csr_matrix) -> None:
        self.fit_gram(pruned_gram(history, self.params.neighbours))

    def fit_gram(self, gram: sp.csr_matrix) -> None:
        """Steps 2–4 from a pruned Gram matrix (`pruned_gram`, or the same statistics computed elsewhere)."""
        p = self.params
        gram = (gram + sp.diags(np.full(gram.shape[0], p.lambda_))).tocsc()
        try:
            factors = spilu(gram, drop_tol=p.drop_tol, fill_factor=p.fill_factor, permc_spec="MMD_AT_PLUS_A",
                            diag_pivot_thresh=0.0, options={"SymmetricMode": True})  # fmt: skip
        except RuntimeError as error:
            raise ConfigError(f"model 'sansa': the factorisation failed ({error}); raise lambda") from None
        if not np.array_equal(factors.perm_r, factors.perm_c):
            raise ConfigError("model 'sansa': the factorisation pivoted; raise lambda")
        diagonal = factors.U.diagonal().astype(np.float64)
        if (diagonal <= 0).any():
            raise ConfigError("model 'sansa': the incomplete factorisation lost positive definiteness; raise lambda "
                              "or lower drop_tol")  # fmt: skip
        lower = sp.csc_matrix(factors.L, dtype=np.float64)
        inverse = approximate_inverse(lower, p.inverse_entries, p.iterations)
        self.order = np.argsort(factors.perm_c).astype(np.int64)  # A[order][:, order] ≈ L D Lᵀ
        self.inverse = sp.csr_matrix(inverse, dtype=np.float32)  # K ≈ L⁻¹, permuted order
        self.pivots = diagonal.astype(np.float32)  # D
        self._finish()
        self.weights = None
        if p.score_entries:
            self.weights = self._pruned_weights(p.score_entries)
            del self.inverse, self.inverse_t  # B replaces the factors for scoring and relations

    def _pruned_weights(self, entries: int) -> sp.csr_matrix:
        """float32 CSR [n, n] in item order: B = I − P / diag(P) with each row's `entries` largest-magnitude
        off-diagonal weights, so a history item adds at most `entries` scores. P = Kᵀ D⁻¹ K is symmetric, so
        WEIGHT_BLOCK of its columns give the same rows of B (bounded memory)."""
        n = len(self.order)
        scaled = sp.csc_matrix(self.inverse.multiply(1.0 / self.pivots[:, None]), dtype=np.float32)  # D⁻¹ K
        negated = sp.diags(-1.0 / self.precision_diagonal)
        blocks = []
        for start in range(0, n, WEIGHT_BLOCK):
            stop = min(n, start + WEIGHT_BLOCK)
            rows = sp.csc_matrix(negated @ (self.inverse_t @ scaled[:, start:stop]))  # B[block, :]ᵀ, permuted
            rows.setdiag(0.0, k=-start)  # B's diagonal is exactly 0
            blocks.append(keep_largest(rows, entries, keep_diagonal=False))
        weights = sp.hstack(blocks, format="csc").T.tocsr()
        return sp.csr_matrix(weights[self.rank][:, self.rank], dtype=np.float32)  # back to item order

    def _finish(self) -> None:
        """Derived arrays: the inverse permutation and diag(P) = Σ_k K_kj² / D_k (permuted order)."""
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(len(self.order))
        squares = self.inverse.multiply(self.inverse).T @ (1.0 / self.pivots.astype(np.float64))
        self.precision_diagonal = np.maximum(np.asarray(squares).ravel(), 1e-12).astype(np.float32)
        self.inverse_t = self.inverse.T.tocsr()

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        if self.weights is not None:
            return (sp.csr_matrix(history, dtype=np.float32) @ self.weights).toarray()
        permuted = sp.csr_matrix(history, dtype=np.float32)[:, self.order]  # columns in factor order
        projected = (permuted @ self.inverse_t).multiply(1.0 / self.pivots[None, :]).tocsr()
        solved = np.asarray((projected @ self.inverse).todense(), dtype=np.float32)  # x P, permuted
        scores = permuted.toarray() - solved / self.precision_diagonal[None, :]
        return scores[:, self.rank]  # back to item order

    def sparse_scores(self, users: np.ndarray, history: sp.csr_matrix) -> sp.csr_matrix | None:
        """history @ B for the pruned B (the same values `_score` densifies); None when scoring through the factors."""
        if self.weights is None or history.shape[1] != self.n_items:
            return None
        scores = (sp.csr_matrix(history, dtype=np.float32) @ self.weights).tocsr()
        scores.eliminate_zeros()
        return scores

    def item_relation(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray:
        """B[seen, items] = δ − P[seen, items] / P[items, items] from the sparse factors (or the pruned B)."""
        if self.weights is not None:
            return self.weights[np.asarray(seen)][:, np.asarray(items)].toarray().astype(np.float64)
        a, b = self.rank[np.asarray(seen)], self.rank[np.asarray(items)]
        left = self.inverse[:, a].multiply(1.0 / self.pivots[:, None]).T.tocsr()
        precision = np.asarray((left @ self.inverse[:, b]).todense(), dtype=np.float64)
        relation = (np.asarray(seen)[:, None] == np.asarray(items)[None, :]).astype(np.float64)
        return relation - precision / self.precision_diagonal[b][None, :]

    def state(self) -> dict[str, np.ndarray]:
        """The pruned B when scoring through it (the factors are then not needed), else the factors."""
        if self.weights is not None:
            return sparse_state("weights", self.weights)
        return {**sparse_state("inverse", self.inverse), "order": self.order, "pivots": self.pivots}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        if "weights.data" in arrays:
            self.weights = sparse_from_state("weights", arrays).astype(np.float32)
            return
        self.weights = None
        self.inverse = sparse_from_state("inverse", arrays).astype(np.float32)
        self.order = np.asarray(arrays["order"], dtype=np.int64)
        self.pivots = np.asarray(arrays["pivots"], dtype=np.float32)
        self._finish()


def pruned_gram(history: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """float64 CSR [n, n]: XᵀX with each column's `neighbours` largest off-diagonal counts (symmetrised by the
    larger of the two) and the diagonal raised by what each row lost, computed in blocks of items."""
    binary = sp.csr_matrix(history, dtype=np.float32)
    binary.data[:] = 1.0
    counts = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
    activity = np.asarray(binary.sum(axis=1), dtype=np.float64).ravel()
    off_total = np.asarray(binary.T @ activity).ravel() - counts  # row sums of XᵀX without the diagonal
    return compensated_gram(top_cooccurrences(binary, neighbours), counts, off_total)


def compensated_gram(kept: sp.csr_matrix, counts: np.ndarray, off_total: np.ndarray) -> sp.csr_matrix:
    """float64 CSR [n, n]: the kept co-occurrence counts (column i: item i's largest), symmetrised by the larger
    of the two, with the diagonal `counts` (users per item) raised by what each row lost of `off_total` (its
    off-diagonal row sum of XᵀX)."""
    kept = sp.csr_matrix(kept, dtype=np.float64)
    kept = kept.maximum(kept.T)
    # Diagonal compensation: every row gets back the counts its pruned entries held, so A stays positive
    # definite (the removed part plus this diagonal is diagonally dominant, hence positive semi-definite).
    dropped = np.maximum(off_total - np.asarray(kept.sum(axis=1)).ravel(), 0.0)
    return (kept + sp.diags(counts + dropped)).tocsr()


def approximate_inverse(lower: sp.csc_matrix, entries: int, iterations: int) -> sp.csc_matrix:
    """K ≈ L⁻¹ for a unit lower-triangular L: K₀ = 2I − L, then Newton–Schulz K ← K + K R with the residual
    R = I − L K; R and K are kept to `entries` per column, so no product grows beyond entries² per column."""
    n = lower.shape[0]
    identity = sp.identity(n, format="csc", dtype=np.float64)
    inverse = keep_largest(2.0 * identity - lower, entries)
    for _ in range(iterations):
        residual = keep_largest(identity - lower @ inverse, entries, keep_diagonal=False)
        inverse = keep_largest(inverse + inverse @ residual, entries)
    return inverse


def keep_largest(matrix: sp.spmatrix, entries: int, keep_diagonal: bool = True) -> sp.csc_matrix:
    """CSC with each column's `entries` largest-magnitude values (the diagonal always kept, unless told not)."""
    matrix = sp.csc_matrix(matrix)
    matrix.eliminate_zeros()
    lengths = np.diff(matrix.indptr)
    if lengths.max(initial=0) <= entries:
        return matrix
    keep = np.ones(matrix.nnz, dtype=bool)
    for column in np.flatnonzero(lengths > entries):
        start, stop = matrix.indptr[column], matrix.indptr[column + 1]
        magnitude = np.abs(matrix.data[start:stop])
        if keep_diagonal:
            magnitude[matrix.indices[start:stop] == column] = np.inf
        drop = np.argpartition(-magnitude, entries - 1)[entries:]
        keep[start + drop] = False
    matrix.data[~keep] = 0.0
    matrix.eliminate_zeros()
    return matrix
