"""Re-rankers by name: a new one is one file plus one line in `RERANKERS`."""

from __future__ import annotations

from prismrec.errors import ConfigError
from prismrec.rerank.base import Reranker


def rerankers() -> dict[str, type[Reranker]]:
    """name -> class of every registered re-ranker."""
    from prismrec.rerank.adaptive import Adaptive
    from prismrec.rerank.calibrated import Calibrated
    from prismrec.rerank.dpp import DPP
    from prismrec.rerank.exposure import Exposure
    from prismrec.rerank.mmr import MMR
    from prismrec.rerank.popularity import PopularityPenalty
    from prismrec.rerank.proportional import Proportional
    from prismrec.rerank.xquad import XQuAD

    classes = (MMR, DPP, Calibrated, XQuAD, Proportional, PopularityPenalty, Adaptive, Exposure)
    return {cls.name: cls for cls in classes}


def reranker_class(name: str) -> type[Reranker]:
    """The re-ranker class registered under `name`."""
    known = rerankers()
    try:
        return known[name]
    except KeyError:
        raise ConfigError(f"unknown re-ranker '{name}'; choose one of {', '.join(known)}") from None
