"""Sparse matrices as named numpy arrays, for saving without pickle."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def sparse_state(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as named arrays (`<prefix>.data`, `.indices`, `.indptr`, `.shape`)."""
    matrix = matrix.tocsr()
    return {
        f"{prefix}.data": matrix.data,
        f"{prefix}.indices": matrix.indices,
        f"{prefix}.indptr": matrix.indptr,
        f"{prefix}.shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def sparse_from_state(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{prefix}.shape"])
    parts = (arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.indptr"])
    return sp.csr_matrix(parts, shape=shape)
