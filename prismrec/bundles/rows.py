"""Recommended and generated bundles as JSON-ready rows: what `prismrec bundles recommend|generate --json` print
and the service returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from prismrec.bundles.generate import GeneratedBundle
    from prismrec.bundles.pipeline_bundles import PipelineBundles
    from prismrec.bundles.recommender import BundleList


def bundle_rows(bundles: PipelineBundles, found: BundleList) -> list[dict[str, Any]]:
    """One row per bundle of `found`, best first: bundle_id, name, score, items [{item_id, title}], reason.

    Args:
        bundles: the bundle model that made `found` and its pipeline (external ids and titles).
        found: k bundles of one user (`PipelineBundles.recommend`).
    """
    model, pipeline = bundles.model, bundles.pipeline
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


def generated_rows(bundles: PipelineBundles, generated: GeneratedBundle) -> list[dict[str, Any]]:
    """One row per generated item, in bundle order: item_id, title, score, reason."""
    pipeline = bundles.pipeline
    return [
        {"item_id": str(pipeline.item_ids.ids[item]), "title": pipeline.titles[item] if pipeline.titles else "",
         "score": float(score), "reason": reason}
        for item, score, reason in zip(generated.items, generated.scores, generated.reasons, strict=True)
    ]  # fmt: skip


def generate_for(
    bundles: PipelineBundles,
    item_ids: list[str] | None = None,
    user_id: str | None = None,
    intent: str | None = None,
    values: dict[str, Any] | None = None,
    unavailable: np.ndarray | None = None,
    history: sp.csr_matrix | None = None,
) -> GeneratedBundle:
    """`PipelineBundles.generate` with external ids and `GenerateParams` given by public name (checked).

    Args:
        unavailable: int item indices never returned.
        history: the current history row of `user_id` (the service's live row; then the user may be one known
            only from events); None = the fitted row.

    Raises:
        UnknownIdError: an unknown item or user id (a user without any item).
        ConfigError: not exactly one of item_ids / user_id / intent, or a bad parameter.
    """
    from prismrec.bundles.generate import GenerateParams
    from prismrec.errors import RequestError, UnknownIdError
    from prismrec.params import parse_params

    pipeline = bundles.pipeline
    params = parse_params(GenerateParams, values or {}, "bundle generation")
    if item_ids is not None and not item_ids:
        raise RequestError("give at least one seed item", field="item_ids")
    items = pipeline.item_ids.indices(item_ids, "item") if item_ids else None
    if user_id is not None and history is not None:
        if history.nnz == 0:
            raise UnknownIdError(f"unknown user '{user_id}' (no items yet)", field="user_id")
        return bundles.generate(items=items, intent=intent, params=params, unavailable=unavailable, history=history)
    user = pipeline.user_ids.index(user_id, "user") if user_id is not None else None
    return bundles.generate(items=items, user=user, intent=intent, params=params, unavailable=unavailable)
