"""Recommended bundles as JSON-ready rows: what `prismrec bundles recommend --json` prints and the service returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prismrec.bundles.recommender import BundleList
    from prismrec.pipeline import Pipeline


def bundle_rows(pipeline: Pipeline, found: BundleList) -> list[dict[str, Any]]:
    """One row per bundle of `found`, best first: bundle_id, name, score, items [{item_id, title}], reason.

    Args:
        pipeline: the pipeline whose bundle model made `found` (external ids and titles).
        found: k bundles of one user (`Pipeline.recommend_bundles`).
    """
    model = pipeline.bundles_fitted()
    assert pipeline.item_ids is not None
    rows = []
    for bundle, score, reason in zip(found.bundles, found.scores, found.reasons, strict=True):
        items = model.signals.membership[int(bundle)].indices
        rows.append({
            "bundle_id": str(model.bundle_ids.ids[bundle]), "name": model.names[bundle], "score": float(score),
            "items": [{"item_id": str(pipeline.item_ids.ids[i]), "title": pipeline.titles[i] if pipeline.titles else ""}
                      for i in items],
            "reason": reason,
        })  # fmt: skip
    return rows
