"""The periodic refit job: the original training files plus everything the service recorded.

`refit_files` writes an interactions CSV (the base file's rows, then the store's events) and, when
the service added items, an items CSV (the base items, then the added ones), ready for `prismrec fit
--config MODEL/config.toml`; the fitted folder is then swapped in with `POST /admin/reload`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from prismrec.data.generic import read_table
from prismrec.serving.store import Store


def refit_files(store: Store, interactions: Path, items: Path | None, out_dir: Path) -> tuple[Path, Path | None]:
    """(interactions CSV, items CSV or None) in `out_dir`: base rows followed by the service's.

    Args:
        store: the service's store.
        interactions: the base interactions file (user_id,item_id[,rating][,timestamp]).
        items: the base items file (item_id,title[,description][,categories]), if any.
        out_dir: where to write `interactions.csv` and `items.csv`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    base = read_table(interactions).astype({"user_id": str, "item_id": str})
    events = pd.DataFrame([vars(e) for e in store.events_received_after(0.0)],
                          columns=["user_id", "item_id", "type", "value", "ts"])  # fmt: skip
    recorded = pd.DataFrame({"user_id": events["user_id"], "item_id": events["item_id"]})
    if "rating" in base.columns:
        # A rating event keeps its value; any other action counts as the best rating of the base file.
        best = pd.to_numeric(base["rating"], errors="coerce").max()
        recorded["rating"] = events["value"].where(events["type"] == "rating").fillna(best)
    if "timestamp" in base.columns:
        recorded["timestamp"] = events["ts"]
    merged_path = out_dir / "interactions.csv"
    pd.concat([base, recorded], ignore_index=True).to_csv(merged_path, index=False)
    added = [c for c in store.item_changes() if not c.deleted]
    if items is None and not added:
        return merged_path, None
    catalogue = read_table(items).astype(str) if items is not None else pd.DataFrame(columns=["item_id", "title"])
    known = set(catalogue["item_id"])
    extra = pd.DataFrame([{"item_id": c.item_id, "title": c.title, "description": c.description or "",
                           "categories": "|".join(c.categories)} for c in added if c.item_id not in known])  # fmt: skip
    items_path = out_dir / "items.csv"
    pd.concat([catalogue, extra], ignore_index=True).fillna("").to_csv(items_path, index=False)
    return merged_path, items_path
