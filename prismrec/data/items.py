"""Item-side features: what is known about items besides the interactions.

`ItemSide` carries the text vectors and the 0/1 item-category matrix every layer above reads;
category shares, distributions and masks are computed here once for scorers, re-rankers, metrics
and search alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class ItemSide:
    """What scorers may know about items besides the interactions.

    Attributes:
        vectors: float32[n_items, d] unit-length meaning vectors from the text encoder, or None.
        categories: 0/1 CSR [n_items, n_categories], or None.
        category_names: the label of each category column.
    """

    vectors: np.ndarray | None = None
    categories: sp.csr_matrix | None = None
    category_names: tuple[str, ...] = ()


def category_mask(categories: sp.csr_matrix | None, names: tuple[str, ...], label: str, n_items: int) -> np.ndarray:
    """bool[n_items]: items labelled `label` in a 0/1 item-category matrix (none when the label is unknown)."""
    if categories is None or label not in names:
        return np.zeros(n_items, dtype=bool)
    column = categories.tocsc()[:, names.index(label)]
    return np.asarray(column.todense()).ravel() > 0


def category_shares(categories: sp.csr_matrix) -> sp.csr_matrix:
    """float64 CSR [n_items, n_categories]: p(c|i) = 1/|G_i| on item i's categories G_i (zero rows without any)."""
    categories = sp.csr_matrix(categories != 0, dtype=np.float64)
    size = np.asarray(categories.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(np.divide(1.0, size, out=np.zeros_like(size), where=size > 0)) @ categories)


def category_distribution(rows: sp.csr_matrix, categories: sp.csr_matrix) -> np.ndarray:
    """float64[n_rows, n_categories]: Steck's p(c|u) = sum_i w_ui p(c|i) / sum_i w_ui.

    p(c|i) = 1/|G_i| over the categories G_i of item i. Items without categories are left out of both
    sums; a row with no categorised item gives all zeros.

    Args:
        rows: CSR [n_rows, n_items] of weights w_ui (e.g. a user's history).
        categories: 0/1 CSR [n_items, n_categories].
    """
    per_item = category_shares(categories)
    rows = sp.csr_matrix(rows, dtype=np.float64)
    mass = np.asarray((rows @ per_item).todense())
    weight = rows @ (np.diff(per_item.indptr) > 0).astype(np.float64)
    return np.divide(mass, weight[:, None], out=np.zeros_like(mass), where=weight[:, None] > 0)



def append_categories(
    matrix: sp.csr_matrix | None, names: tuple[str, ...], labels: tuple[str, ...], n_items: int
) -> tuple[sp.csr_matrix | None, tuple[str, ...]]:
    """The 0/1 item-category matrix [n_items + 1, n'] with one more item row; new labels add columns."""
    if matrix is None and not labels:
        return None, names
    columns = list(names) + [label for label in dict.fromkeys(labels) if label not in names]
    grown = sp.csr_matrix(matrix if matrix is not None else (n_items, 0), dtype=np.float32)
    grown.resize((n_items, len(columns)))
    picked = sorted({columns.index(label) for label in labels})
    row = sp.csr_matrix((np.ones(len(picked), np.float32), ([0] * len(picked), picked)), shape=(1, len(columns)))
    return sp.vstack([grown, row]).tocsr(), tuple(columns)
