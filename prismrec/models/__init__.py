"""Scorers and their registry: a new model is one file plus one line in `SCORERS`."""

from __future__ import annotations

from prismrec.data.items import ItemSide
from prismrec.errors import ConfigError
from prismrec.models.base import Scorer
from prismrec.models.content import Content
from prismrec.models.ease import EASE
from prismrec.models.factorization import ALS, BPR
from prismrec.models.fusion import Fusion
from prismrec.models.item_hybrid import ItemHybrid
from prismrec.models.itemknn import ItemKNN
from prismrec.models.popularity import MostPopular
from prismrec.models.random import Random
from prismrec.models.rating import RatingMF
from prismrec.models.sansa import SANSA
from prismrec.models.sasrec import SASRec
from prismrec.models.two_tower import TwoTower

SCORERS: dict[str, type[Scorer]] = {
    cls.name: cls
    for cls in (Random, MostPopular, ItemKNN, EASE, SANSA, ALS, BPR, Content, Fusion, ItemHybrid, TwoTower, RatingMF,
                SASRec)
}


def scorer_class(name: str) -> type[Scorer]:
    """The scorer class registered under `name`."""
    try:
        return SCORERS[name]
    except KeyError:
        raise ConfigError(f"unknown model '{name}'; choose one of {', '.join(SCORERS)}") from None


__all__ = ["SCORERS", "ItemSide", "Scorer", "scorer_class"]
