"""The cold-start policy: what a row without any history gets, the same offline and in the service.

`[cold_start] new_users`:
- "popular": the most popular items (the scorer's list for an empty history is replaced by popularity);
- "diverse-popular" (default): the popular items spread over the catalogue — when the request and the
  config name no re-ranker and the pipeline has item vectors, cold rows are re-ranked by MMR at
  `[cold_start] diversity` (a fraction of MMR's knob range), so a newcomer does not see ten items of
  one kind.

Rows with history are never affected; evaluation reports users with few train events as a slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prismrec.errors import RequestError
from prismrec.params import param

if TYPE_CHECKING:
    from prismrec.core.pipeline import FittedPipeline
    from prismrec.core.request import RecommendRequest

NEW_USER_POLICIES = ("popular", "diverse-popular")


@dataclass(frozen=True)
class ColdStartConfig:
    new_users: str = param("diverse-popular", "what a user without history gets", choices=NEW_USER_POLICIES)
    diversity: float = param(0.3, "MMR diversity level (0..1 of its range) of the diverse-popular list",
                             min=0.0, max=1.0)  # fmt: skip


def cold_rows_variant(
    pipeline: FittedPipeline, chosen: FittedPipeline, request: RecommendRequest
) -> FittedPipeline | None:
    """The pipeline variant that answers the request's rows without history, or None when `chosen` does."""
    policy = request.cold_start or pipeline.config.cold_start.new_users
    if policy not in NEW_USER_POLICIES:
        raise RequestError(f"cold_start must be one of {', '.join(NEW_USER_POLICIES)}, not '{policy}'",
                           field="cold_start")  # fmt: skip
    if policy == "popular" or chosen.reranker is not None or request.reranker is not None:
        return None
    if request.diversity is not None or pipeline.side.vectors is None:
        return None
    return pipeline.variant(None, pipeline.config.cold_start.diversity)
