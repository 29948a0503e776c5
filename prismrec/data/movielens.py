"""MovieLens in its original GroupLens formats.

- `load_grouplens_100k`: ML-100K as published by GroupLens (`u.data`, `u.item`, optional `u.user`);
  headerless TAB / pipe files, `u.item` in latin-1.
- `load_movielens_latest`: the CSV family (`ratings.csv`, `movies.csv`, optional `tags.csv`), e.g.
  ml-latest-small.

Titles such as "Toy Story (1995)" become the text field `title` ("Toy Story") and the attribute
`year` ("1995"); titles without a trailing year are kept as they are (year "").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from prismrec.data.readers import events_frame, read_delimited, require_columns, require_ids, split_labels, unique_items
from prismrec.data.schema import Dataset, assemble
from prismrec.errors import DataError

GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
DATA_COLUMNS_100K = ("user_id", "item_id", "rating", "timestamp")
ITEM_COLUMNS_100K = ("item_id", "title", "release_date", "video_release_date", "imdb_url", *GENRES_100K)
USER_COLUMNS_100K = ("user_id", "age", "gender", "occupation", "zip_code")
NO_GENRES = "(no genres listed)"

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def split_title_year(title: str) -> tuple[str, str]:
    """'Toy Story (1995)' -> ('Toy Story', '1995'); a title without a trailing year -> (title, '')."""
    title = title.strip()
    match = _TITLE_YEAR.match(title)
    if match is None or not match.group("title"):
        return title, ""
    return match.group("title"), match.group("year")


# ----------------------------------------------------------------------------- GroupLens ML-100K


def load_grouplens_100k(folder: str | Path) -> Dataset:
    """Load the original ML-100K files from `folder`.

    Files:
        u.data: TAB, no header: user id, item id, rating, timestamp.
        u.item: '|', latin-1, no header: id | title | release date | video release date | IMDb URL |
            19 genre flags (0/1, order `GENRES_100K`).
        u.user (optional): '|', no header: user id | age | gender | occupation | zip code.

    Returns:
        Dataset "ml-100k": explicit ratings; catalogue text field `title`, attributes `year`,
        `release_date`, `imdb_url`; categories = genres flagged 1; `user_table` [n_users, 4] when
        u.user exists.
    """
    folder = Path(folder)
    events = _read_ratings_100k(folder / "u.data")
    items = _read_items_100k(folder / "u.item")
    interactions, catalog, _ = assemble("ml-100k", events, items, ("title",), "categories")
    scale = (float(events["value"].min()), float(events["value"].max()))
    users = _read_users_100k(folder / "u.user", interactions.user_ids.ids)
    return Dataset("ml-100k", interactions, catalog, rating_scale=scale, user_table=users)


def _read_ratings_100k(path: Path) -> pd.DataFrame:
    """Events frame [n, 4] (user_id, item_id, value, timestamp) from `u.data`."""
    frame = read_delimited(path, sep="\t", names=DATA_COLUMNS_100K, quoting=False)
    return events_frame(frame, path, "user_id", "item_id", "rating", "timestamp")


def _read_items_100k(path: Path) -> pd.DataFrame:
    """Items frame [n_items, 6]: item_id, title, year, release_date, imdb_url, categories (tuples)."""
    frame = read_delimited(path, sep="|", names=ITEM_COLUMNS_100K, encoding="latin-1", quoting=False)
    frame["item_id"] = require_ids(frame, "item_id", path)
    frame = unique_items(frame, path)
    flags = np.column_stack([_genre_flags(frame, genre, path) for genre in GENRES_100K])
    titles = [split_title_year(t) for t in frame["title"]]
    return pd.DataFrame(
        {
            "item_id": frame["item_id"].to_numpy(),
            "title": [t for t, _ in titles],
            "year": [y for _, y in titles],
            "release_date": frame["release_date"].str.strip().to_numpy(),
            "imdb_url": frame["imdb_url"].str.strip().to_numpy(),
            "categories": [tuple(g for g, on in zip(GENRES_100K, row, strict=True) if on) for row in flags],
        }
    )


def _genre_flags(frame: pd.DataFrame, genre: str, path: Path) -> np.ndarray:
    """bool[n]: the 0/1 flag column of one genre; anything else raises `DataError`."""
    raw = frame[genre].str.strip()
    bad = ~raw.isin(("0", "1")).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        message = f"genre flag must be 0 or 1, got '{raw.iloc[first]}'"
        raise DataError(message, path, int(frame["_line"].iloc[first]), genre)
    return (raw == "1").to_numpy()


def _read_users_100k(path: Path, user_ids: np.ndarray) -> pd.DataFrame | None:
    """User attributes [n_users, 4] aligned to `user_ids` ("" for users missing in u.user)."""
    if not path.exists():
        return None
    frame = read_delimited(path, sep="|", names=USER_COLUMNS_100K, encoding="latin-1", quoting=False)
    frame["user_id"] = require_ids(frame, "user_id", path)
    frame = unique_items(frame, path, "user_id").drop(columns="_line")
    return frame.set_index("user_id").reindex(user_ids).fillna("").reset_index(drop=True)


# ----------------------------------------------------------------------------- MovieLens CSV (latest)


def load_movielens_latest(folder: str | Path, name: str | None = None) -> Dataset:
    """Load a MovieLens CSV release (ml-latest-small, ml-latest, ml-25m, ...) from `folder`.

    Files:
        ratings.csv: userId,movieId,rating,timestamp.
        movies.csv: movieId,title,genres ('|'-separated; "(no genres listed)" = none).
        tags.csv (optional): userId,movieId,tag,timestamp.

    Returns:
        Dataset (named after the folder unless `name` is given): explicit ratings; catalogue text
        fields `title` and `tags` (distinct lower-cased tags in first-seen order, joined by ", "),
        attribute `year`; categories = genres.
    """
    folder = Path(folder)
    name = name or folder.name
    events = _read_ratings_csv(folder / "ratings.csv")
    items = _read_movies_csv(folder / "movies.csv")
    tags_path = folder / "tags.csv"
    if tags_path.exists():
        tags = _read_tags_csv(tags_path)
        items["tags"] = items["item_id"].map(tags).fillna("")
    interactions, catalog, _ = assemble(name, events, items, ("title", "tags"), "categories")
    scale = (float(events["value"].min()), float(events["value"].max()))
    return Dataset(name, interactions, catalog, rating_scale=scale)


def _read_ratings_csv(path: Path) -> pd.DataFrame:
    """Events frame [n, 4] (user_id, item_id, value, timestamp) from `ratings.csv`."""
    frame = read_delimited(path)
    require_columns(frame, path, ["userId", "movieId", "rating", "timestamp"])
    return events_frame(frame, path, "userId", "movieId", "rating", "timestamp")


def _read_movies_csv(path: Path) -> pd.DataFrame:
    """Items frame [n_items, 4]: item_id, title, year, categories (tuples of genres)."""
    frame = read_delimited(path)
    require_columns(frame, path, ["movieId", "title", "genres"])
    frame["movieId"] = require_ids(frame, "movieId", path)
    frame = unique_items(frame, path, "movieId")
    titles = [split_title_year(t) for t in frame["title"]]
    return pd.DataFrame(
        {
            "item_id": frame["movieId"].to_numpy(),
            "title": [t for t, _ in titles],
            "year": [y for _, y in titles],
            "categories": [() if g.strip() == NO_GENRES else split_labels(g, "|") for g in frame["genres"]],
        }
    )


def _read_tags_csv(path: Path) -> pd.Series:
    """movieId -> "tag one, tag two" (distinct lower-cased tags in file order)."""
    frame = read_delimited(path)
    require_columns(frame, path, ["movieId", "tag"])
    movie_ids = require_ids(frame, "movieId", path)
    per_movie: dict[str, dict[str, None]] = {}
    for movie, tag in zip(movie_ids, frame["tag"], strict=True):
        tag = " ".join(tag.split()).lower()
        if tag:
            per_movie.setdefault(movie, {})[tag] = None
    return pd.Series({movie: ", ".join(tags) for movie, tags in per_movie.items()}, dtype=object)
