"""Saving and loading a fitted pipeline: a folder of `.npy`, `.json` and `.toml` files (no pickle).

    DIR/config.toml        the PipelineConfig
    DIR/meta.json          format version, prismrec version, scorer, sizes, fit time
    DIR/user_ids.json      DIR/item_ids.json      external ids in index order
    DIR/items.json         titles, encoder texts, category names
    DIR/*.npy              weighted history (CSR parts), popularity, item vectors, item categories
    DIR/scorer/*.npy       the scorer's learned arrays
    DIR/rerank/*.npy       the re-ranker's learned arrays (with [rerank])
    DIR/bundles/           the bundle model (`prismrec.bundles`), when one was fitted

A folder of another format version fails with a message to refit it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from prismrec import __version__
from prismrec.core.config import PipelineConfig
from prismrec.core.pipeline import FittedPipeline
from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.data.items import ItemSide
from prismrec.data.schema import IdMap
from prismrec.errors import FormatError, PrismrecError

FORMAT_VERSION = 1


def save_pipeline(pipeline: FittedPipeline, directory: str | Path) -> Path:
    """Write the fitted pipeline to a folder (created if needed)."""
    if pipeline.scored_items != pipeline.n_items:
        raise PrismrecError("items were added after the fit: refit the pipeline before saving it")
    directory = Path(directory)
    (directory / "scorer").mkdir(parents=True, exist_ok=True)
    (directory / "config.toml").write_text(pipeline.config.to_toml(), encoding="utf-8")
    meta = {"format": FORMAT_VERSION, "prismrec": __version__, "scorer": pipeline.scorer.name,
            "n_users": len(pipeline.user_ids), "n_items": pipeline.n_items,
            "fitted_at": pipeline.fitted_at}  # fmt: skip
    _write_json(directory / "meta.json", meta)
    _write_json(directory / "user_ids.json", list(pipeline.user_ids.ids))
    _write_json(directory / "item_ids.json", list(pipeline.item_ids.ids))
    side = pipeline.side
    _write_json(directory / "items.json", {"titles": list(pipeline.titles), "texts": list(pipeline.texts),
                                           "category_names": list(side.category_names)})  # fmt: skip
    arrays = {**sparse_state("history", pipeline.history), "popularity": pipeline.popularity}
    if side.vectors is not None:
        arrays["item_vectors"] = side.vectors
    if side.categories is not None:
        arrays.update(sparse_state("item_categories", side.categories))
    _save_arrays(directory, arrays)
    _save_arrays(directory / "scorer", pipeline.scorer.state())
    if pipeline.reranker is not None:
        _save_arrays(directory / "rerank", pipeline.reranker.state())
    return directory


def load_pipeline(directory: str | Path) -> FittedPipeline:
    """Read a folder written by `save_pipeline`; arrays are loaded without pickle."""
    directory = Path(directory)
    if not (directory / "meta.json").is_file():
        raise PrismrecError(f"{directory} is not a saved pipeline (no meta.json); create one with 'prismrec fit'")
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise PrismrecError(f"{directory}/meta.json is damaged ({error}); refit with 'prismrec fit'") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise FormatError(f"{directory} holds a pipeline of format {found}, this prismrec reads format "
                          f"{FORMAT_VERSION}: refit it with 'prismrec fit' (or 'prismrec refit')")  # fmt: skip
    config = PipelineConfig.from_toml(directory / "config.toml")
    try:
        arrays = _load_arrays(directory)
        history = sparse_from_state("history", arrays)
        user_ids = IdMap(json.loads((directory / "user_ids.json").read_text(encoding="utf-8")))
        item_ids = IdMap(json.loads((directory / "item_ids.json").read_text(encoding="utf-8")))
        items = json.loads((directory / "items.json").read_text(encoding="utf-8"))
        categories = sparse_from_state("item_categories", arrays) if "item_categories.shape" in arrays else None
        side = ItemSide(arrays.get("item_vectors"), categories, tuple(items["category_names"]))
        scorer = config.scorer.create().restore(_load_arrays(directory / "scorer"), history, side)
        reranker = config.rerank.create() if config.rerank is not None else None
        if reranker is not None:
            reranker.check(side)
            reranker.load_state(_load_arrays(directory / "rerank"))
        pipeline = FittedPipeline(
            config=config, scorer=scorer, reranker=reranker, user_ids=user_ids, item_ids=item_ids, history=history,
            popularity=arrays["popularity"], side=side, titles=tuple(items["titles"]),
            texts=tuple(items.get("texts", [])), scored_items=len(item_ids), fitted_at=float(meta.get("fitted_at", 0)),
        )  # fmt: skip
    except (KeyError, ValueError, OSError) as error:
        raise PrismrecError(f"{directory}: saved pipeline is incomplete or damaged ({error!r}); refit it") from None
    if history.shape != (len(user_ids), len(item_ids)):
        raise PrismrecError(f"{directory}: saved history does not match the saved user and item ids; refit it")
    return pipeline


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def _save_arrays(directory: Path, arrays: dict[str, np.ndarray]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array)


def _load_arrays(directory: Path) -> dict[str, np.ndarray]:
    return {path.stem: np.load(path, allow_pickle=False) for path in directory.glob("*.npy")}
