"""Rating-prediction errors (PROTOCOL.md D): predictions are clipped to the rating scale."""

from __future__ import annotations

import numpy as np


def _errors(predicted: np.ndarray, actual: np.ndarray, scale: tuple[float, float] | None) -> np.ndarray:
    predicted = np.asarray(predicted, dtype=np.float64)
    if scale is not None:
        predicted = np.clip(predicted, scale[0], scale[1])
    return predicted - np.asarray(actual, dtype=np.float64)


def mae(predicted: np.ndarray, actual: np.ndarray, scale: tuple[float, float] | None = None) -> float:
    """Mean absolute error.

    >>> mae(np.array([6.0, 2.0]), np.array([5.0, 3.0]), scale=(1.0, 5.0))
    0.5
    """
    return float(np.mean(np.abs(_errors(predicted, actual, scale))))


def rmse(predicted: np.ndarray, actual: np.ndarray, scale: tuple[float, float] | None = None) -> float:
    """Root mean squared error.

    >>> rmse(np.array([4.0, 2.0]), np.array([5.0, 3.0]))
    1.0
    """
    return float(np.sqrt(np.mean(_errors(predicted, actual, scale) ** 2)))
