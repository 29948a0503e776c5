"""Datasets published in another layout: RecBole atomic files derived from the source files on first load.

- amazon-games (LLMRank's Games-6k): each row of `Games-6k.test.inter.gz` is one user's whole
  chronological sequence (history list + last item); events get timestamp = 1-based position in the
  sequence (the source has order, not time). `amazon-games.item` is the source's item file itself.
- ml-1m (ReSN's train/test lines + LLMRank's item file): every MovieLens-1M (user, movie) pair with
  the original UserID/MovieID (the source files hold id − 1); no ratings or timestamps (random protocol).

The derived files are byte-identical to those `make_atomic.py` writes next to the shared copies, and are
written once, next to the sources (a temporary file renamed into place).
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from prismrec.data.atomic import load_atomic
from prismrec.data.schema import Dataset
from prismrec.errors import DataError


def load_amazon_games(folder: Path) -> Dataset:
    """amazon-games: 50,546 users, 16,859 items, 440,264 ordered events, product titles."""
    derive(folder / "amazon-games.inter", lambda: _sequence_rows(folder / "Games-6k.test.inter.gz"))
    return load_atomic(folder, "amazon-games")


def load_ml_1m(folder: Path) -> Dataset:
    """ml-1m: 6,040 users, 3,706 rated movies (3,883 in the item file), 1,000,209 implicit pairs."""
    derive(folder / "ml-1m.inter", lambda: _pair_rows(folder / "train.txt.gz", folder / "test.txt.gz"))
    derive(folder / "ml-1m.item", lambda: _item_rows(folder / "ml-1m-full.item.gz"))
    return load_atomic(folder, "ml-1m", implicit=True)


def derive(target: Path, rows: Callable[[], Iterator[str]]) -> None:
    """Write `target` from `rows()` (lines with their newline) unless it exists; never a half-written file."""
    if target.is_file():
        return
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.writelines(rows())
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _sequence_rows(source: Path) -> Iterator[str]:
    yield "user_id:token\titem_id:token\ttimestamp:float\n"
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        next(lines, None)
        for number, line in enumerate(lines, start=2):
            cells = line.rstrip("\n").split("\t")
            if len(cells) != 3:
                raise DataError(f"expected 3 tab-separated fields, found {len(cells)}", source, number)
            user, history, target = cells
            for position, item in enumerate([*history.split(), target], start=1):
                yield f"{user}\t{item}\t{position}\n"


def _pair_rows(*sources: Path) -> Iterator[str]:
    items: dict[int, list[int]] = {}
    for source in sources:
        with gzip.open(source, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    user, *rest = (int(cell) for cell in line.split())
                except ValueError:
                    raise DataError("expected whole numbers 'user item item ...'", source, number) from None
                items.setdefault(user, []).extend(rest)
    yield "user_id:token\titem_id:token\n"
    for user in sorted(items):
        for item in items[user]:
            yield f"{user + 1}\t{item + 1}\n"


def _item_rows(source: Path) -> Iterator[str]:
    yield "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        next(lines, None)
        yield from lines
