"""Lists as a table with external ids: what the CLI writes, evaluation exports and Spark returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from prismrec.data.schema import IdMap


def lists_to_frame(
    user_ids: IdMap, item_ids: IdMap, users: np.ndarray, items: np.ndarray, scores: np.ndarray
) -> pd.DataFrame:
    """Top-K arrays ([n], [n, k], [n, k]; -1 = empty slot) as rows user_id, item_id, rank, score."""
    filled = items >= 0
    rows, ranks = np.nonzero(filled)
    return pd.DataFrame(
        {
            "user_id": user_ids.to_external(users[rows]),
            "item_id": item_ids.to_external(items[filled]),
            "rank": ranks + 1,
            "score": scores[filled],
        }
    )
