"""Synthetic interaction logs and catalogues with the structure of real ones, for tests and scale runs.

The generator (`SynthParams` → `synth_log` / `write_synth`):

- items fall into `clusters` interest clusters of (almost) equal size; each item's popularity is
  Zipf, (rank + 1) ** -popularity_exponent over one random global ranking, so popularity follows a
  power law over the catalogue and, since a cluster's items are a random sample of that ranking, inside
  every cluster too; a cluster is as popular as the sum of its items' weights;
- a user follows 1–3 clusters (probabilities 0.5 / 0.3 / 0.2), picked without replacement in
  proportion to the clusters' popularity, with shares 1, 2:1 or 4:2:1; a share `cluster_affinity`
  of the user's events comes from those clusters and the rest from the whole catalogue, both by
  item popularity (so the log's item popularity follows the Zipf weights, flatter at the head, where a
  user takes an item once);
- events per user are lognormal (`activity_sigma`), at least one and at most half the catalogue per
  user, exactly `events` in total;
- each user is active in one window inside [start, end) and their timestamps (Unix seconds)
  increase strictly in file order;
- the later copy of a repeated (user, item) pair is drawn again: from the same source by popularity,
  then uniformly, then uniformly in the whole catalogue, so repeats stay rare (the loaders keep the
  earliest of a pair);
- items have titles "<Adjective> <Noun> <model number>" from small word lists per cluster (clusters
  of one theme share its nouns) and one category, the cluster's name.

Everything is vectorised numpy over chunks of users and deterministic given the parameters (one
`numpy.random.Generator` per part, seeded from `seed`); `write_synth` streams chunk by chunk, so the
whole log is never in memory.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prismrec.data.synth_text import cluster_names, titles
from prismrec.errors import ConfigError
from prismrec.params import param, params_to_dict, validate

FORMATS = ("csv", "parquet")
CHUNK_EVENTS = 1 << 20  # a chunk ends at the first user past this many events ...
CHUNK_USERS = 1 << 15  # ... or after this many users (bounds the users × clusters draws)
REDRAWS = 18  # rounds of redrawing repeated (user, item) pairs, in three stages (see `_chunk`)
INTERESTS = np.array([0.5, 0.3, 0.2])  # P(a user follows 1, 2 or 3 clusters)
SHARES = np.array([[1.0, 1.0, 1.0], [2 / 3, 1.0, 1.0], [4 / 7, 6 / 7, 1.0]])  # cumulative shares per count

@dataclass(frozen=True)
class SynthParams:
    """What `synth_log` generates; every field is a `--param` of `prismrec synth`."""

    users: int = param(1000, "number of users; each has at least one event", min=1)
    items: int = param(1000, "number of items in the catalogue", min=1)
    events: int = param(20000, "number of events in the log (repeated pairs included)", min=1)
    seed: int = param(42, "random seed: the same parameters give the same files", min=0)
    clusters: int | None = param(None, "interest clusters (categories); none = round(sqrt(items) / 4) in [2, 100]",
                                 min=1)  # fmt: skip
    popularity_exponent: float = param(1.0, "Zipf exponent of item popularity: weight (rank + 1) ** -exponent",
                                       min=0.0, max=5.0)  # fmt: skip
    cluster_affinity: float = param(0.8, "share of a user's events drawn from their own 1–3 clusters",
                                    min=0.0, max=1.0)  # fmt: skip
    activity_sigma: float = param(1.0, "sigma of the lognormal events-per-user distribution", min=0.0, max=4.0)
    start: int = param(1_577_836_800, "earliest timestamp, Unix seconds (default 2020-01-01)", min=0)
    end: int = param(1_672_531_200, "timestamps are before this, Unix seconds (default 2023-01-01)", min=1)

    @property
    def n_clusters(self) -> int:
        if self.clusters is not None:
            return self.clusters
        return max(1, min(self.items, 100, max(2, round(math.sqrt(self.items) / 4))))

    @property
    def max_user_events(self) -> int:
        """The most events one user gets: half the catalogue (at least 1)."""
        return max(1, self.items // 2)


def check(params: SynthParams) -> None:
    """Raise `ConfigError` when the parameters cannot be generated (bounds and their relations)."""
    validate(params, "synth")
    if params.events < params.users:
        raise ConfigError(f"synth: events ({params.events}) must be at least users ({params.users}): "
                          "every user has at least one event")  # fmt: skip
    if params.events > params.users * params.max_user_events:
        most = params.users * params.max_user_events
        raise ConfigError(f"synth: events ({params.events}) must be at most users × max(1, items // 2) ({most}): "
                          "a user sees at most half the catalogue")  # fmt: skip
    if params.n_clusters > params.items:
        raise ConfigError(f"synth: clusters ({params.n_clusters}) must be at most items ({params.items})")
    longest = min(params.max_user_events, params.events - params.users + 1)
    if params.end - params.start < longest:
        raise ConfigError(f"synth: end - start ({params.end - params.start} s) must be at least {longest} s, "
                          "so that one user's timestamps can increase")  # fmt: skip


# ------------------------------------------------------------------ the catalogue


@dataclass(frozen=True)
class _Catalogue:
    cluster: np.ndarray  # int64[n_items]: each item's cluster
    order: np.ndarray  # int64[n_items]: item indices grouped by cluster
    cumulative: np.ndarray  # float64[n_items]: running sum of the weights in `order`
    lo: np.ndarray  # int64[C]: first position of each cluster in `order`
    hi: np.ndarray  # int64[C]: one past its last position
    base: np.ndarray  # float64[C]: `cumulative` before the cluster's first position
    mass: np.ndarray  # float64[C]: the cluster's total weight
    names: list[str]
    titles: list[str]


def _catalogue(params: SynthParams) -> _Catalogue:
    rng = np.random.default_rng([params.seed, 0])
    n, c = params.items, params.n_clusters
    cluster = rng.permutation(np.arange(n, dtype=np.int64) % c)
    rank = rng.permutation(n)
    weight = (rank + 1.0) ** -params.popularity_exponent
    order = np.argsort(cluster, kind="stable")
    sizes = np.bincount(cluster, minlength=c)
    hi = np.cumsum(sizes)
    lo = hi - sizes
    cumulative = np.cumsum(weight[order])
    base = np.concatenate([[0.0], cumulative])[lo]
    mass = np.add.reduceat(weight[order], lo)
    names = cluster_names(c)
    return _Catalogue(cluster, order, cumulative, lo, hi, base, mass, names, titles(cluster, c, rng))


def id_width(n: int) -> int:
    """Digits of the zero-padded ids (at least 6), so that string order is index order."""
    return max(6, len(str(max(n - 1, 0))))


def item_ids(n: int) -> list[str]:
    width = id_width(n)
    return [f"i{j:0{width}d}" for j in range(n)]


def user_ids(start: int, stop: int, n: int) -> list[str]:
    width = id_width(n)
    return [f"u{u:0{width}d}" for u in range(start, stop)]


def synth_items(params: SynthParams) -> pd.DataFrame:
    """The catalogue: item_id, title, categories ("|"-separated; here one per item, the cluster's name)."""
    check(params)
    return _items_frame(params, _catalogue(params))


def _items_frame(params: SynthParams, catalogue: _Catalogue) -> pd.DataFrame:
    names = np.asarray(catalogue.names, dtype=object)
    return pd.DataFrame({"item_id": item_ids(params.items), "title": catalogue.titles,
                         "categories": names[catalogue.cluster]})  # fmt: skip


# ------------------------------------------------------------------ events


def activity(params: SynthParams) -> np.ndarray:
    """int64[users]: events per user, lognormal, each in [1, max_user_events], summing to `events`."""
    rng = np.random.default_rng([params.seed, 1])
    weights = rng.lognormal(0.0, params.activity_sigma, params.users)
    counts = np.ones(params.users, dtype=np.int64)
    remaining = params.events - params.users
    cap = params.max_user_events
    while remaining > 0:
        open_weights = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(remaining, open_weights / open_weights.sum())
        over = np.maximum(counts - cap, 0)
        counts -= over
        remaining = int(over.sum())
    return counts


def chunk_bounds(counts: np.ndarray) -> np.ndarray:
    """User indices where chunks start, plus the number of users at the end."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    by_events = np.searchsorted(starts, np.arange(0, int(counts.sum()), CHUNK_EVENTS), side="left")
    by_users = np.arange(0, len(counts), CHUNK_USERS)
    return np.unique(np.concatenate([by_events, by_users, [len(counts)]]))


def _draw(catalogue: _Catalogue, source: np.ndarray, rng: np.random.Generator, uniform: bool = False) -> np.ndarray:
    """Items inside cluster `source[e]`, or in the whole catalogue where it is -1: by popularity, or uniformly."""
    own = source >= 0
    clusters = np.where(own, source, 0)
    u = rng.random(len(source))
    low = np.where(own, catalogue.lo[clusters], 0)
    high = np.where(own, catalogue.hi[clusters], len(catalogue.order))
    if uniform:
        return catalogue.order[np.minimum(low + np.floor(u * (high - low)).astype(np.int64), high - 1)]
    total = catalogue.cumulative[-1]
    target = np.where(own, catalogue.base[clusters] + u * catalogue.mass[clusters], u * total)
    position = np.searchsorted(catalogue.cumulative, target, side="right")
    return catalogue.order[np.clip(position, low, high - 1)]


def pick_clusters(mass: np.ndarray, m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """int64[m, k]: k distinct clusters per row, drawn one after the other in proportion to `mass`.

    Draw j is uniform on the mass line with the clusters drawn before cut out: the point is shifted
    past each of them in line order, then looked up.
    """
    cumulative = np.cumsum(mass)
    base = cumulative - mass
    picks = np.empty((m, k), dtype=np.int64)
    removed = np.zeros(m)
    for slot in range(k):
        point = rng.random(m) * (cumulative[-1] - removed)
        for before in np.sort(picks[:, :slot], axis=1).T:
            point += np.where(point >= base[before], mass[before], 0.0)
        picks[:, slot] = np.minimum(np.searchsorted(cumulative, point, side="right"), len(mass) - 1)
        removed += mass[picks[:, slot]]
    return picks


def _chunk(params: SynthParams, catalogue: _Catalogue, counts: np.ndarray, first_user: int,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:  # fmt: skip
    """(user, item, timestamp) int64 arrays of the users `first_user ...` with these counts, and the repeats left."""
    m, n_events, n_clusters = len(counts), int(counts.sum()), len(catalogue.mass)
    local = np.repeat(np.arange(m, dtype=np.int64), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])

    k_max = min(3, n_clusters)
    interests = np.minimum(rng.choice(3, size=m, p=INTERESTS) + 1, k_max)
    top = pick_clusters(catalogue.mass, m, k_max, rng)
    shares = SHARES[interests - 1]
    u = rng.random(n_events)
    slot = (u > shares[local, 0]).astype(np.int64) + (u > shares[local, 1])
    own = rng.random(n_events) < params.cluster_affinity
    source = np.where(own, top[local, np.minimum(slot, k_max - 1)], -1)
    items = _draw(catalogue, source, rng)

    # redraw the later copies of a repeated (user, item) pair: from the same source by popularity, then
    # uniformly, then (a user who has seen most of their clusters) uniformly in the whole catalogue
    keys_ui = local * params.items + items
    candidates = np.arange(n_events)
    repeats = 0
    for round_ in range(REDRAWS + 1):
        keys_c = keys_ui[candidates]
        order = np.argsort(keys_c, kind="stable")
        repeated = candidates[order[1:][keys_c[order[1:]] == keys_c[order[:-1]]]]
        repeats = len(repeated)
        if repeats == 0 or round_ == REDRAWS:
            break
        stage = 3 * round_ // REDRAWS
        where = source[repeated] if stage < 2 else np.full(repeats, -1)
        items[repeated] = _draw(catalogue, where, rng, uniform=stage > 0)
        keys_ui[repeated] = local[repeated] * params.items + items[repeated]
        hit = np.zeros(m, dtype=bool)
        hit[local[repeated]] = True
        candidates = np.flatnonzero(hit[local])  # only these users' events can still repeat

    # timestamps: a window per user, sorted uniform points in it (exponential gaps), strictly increasing
    period = params.end - params.start
    span = np.maximum(np.floor(period * rng.uniform(0.05, 1.0, m)).astype(np.int64), counts)
    begin = params.start + np.floor(rng.random(m) * (period - span + 1)).astype(np.int64)
    gaps = np.cumsum(rng.standard_exponential(n_events))
    before = np.concatenate([[0.0], gaps])[offsets]
    within = gaps - before[local]
    total = within[offsets + counts - 1] + rng.standard_exponential(m)
    rank = np.arange(n_events, dtype=np.int64) - offsets[local]
    stamps = begin[local] + np.floor(within / total[local] * (span - counts)[local]).astype(np.int64) + rank
    return local + first_user, items, stamps, repeats


@dataclass(frozen=True)
class _Chunk:
    users: np.ndarray  # int64 user indices
    items: np.ndarray  # int64 item indices
    timestamps: np.ndarray  # int64 Unix seconds
    repeats: int  # (user, item) pairs in the chunk that repeat an earlier one


def _chunks(params: SynthParams, catalogue: _Catalogue, counts: np.ndarray) -> Iterator[_Chunk]:
    bounds = chunk_bounds(counts)
    for index, (a, b) in enumerate(itertools.pairwise(bounds)):
        rng = np.random.default_rng([params.seed, 2, index])
        yield _Chunk(*_chunk(params, catalogue, counts[a:b], int(a), rng))


def synth_log(params: SynthParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole log in memory: (events user_id, item_id, timestamp; items item_id, title, categories).

    For large logs use `write_synth`, which streams the same rows to files.
    """
    check(params)
    catalogue = _catalogue(params)
    counts = activity(params)
    ids = np.asarray(item_ids(params.items), dtype=object)
    frames = []
    for chunk in _chunks(params, catalogue, counts):
        first = int(chunk.users[0])
        users = np.asarray(user_ids(first, int(chunk.users[-1]) + 1, params.users), dtype=object)
        frames.append(pd.DataFrame({"user_id": users[chunk.users - first], "item_id": ids[chunk.items],
                                    "timestamp": chunk.timestamps}))  # fmt: skip
    return pd.concat(frames, ignore_index=True), _items_frame(params, catalogue)


# ------------------------------------------------------------------ files


def write_synth(params: SynthParams, out_dir: str | Path, format: str = "csv") -> dict[str, Path]:
    """Write interactions, items and synth.json to `out_dir`, streaming the events chunk by chunk.

    Files: `interactions.<csv|parquet>` (user_id, item_id, timestamp), `items.<csv|parquet>`
    (item_id, title, categories "|"-separated), which `load_generic` reads with the default column
    map, and `synth.json` (the parameters and counts; the same parameters write the same bytes).

    Returns:
        {"interactions": path, "items": path, "summary": path}.
    """
    import pyarrow as pa

    if format not in FORMATS:
        raise ConfigError(f"synth: format '{format}' is not one of {', '.join(FORMATS)}")
    check(params)
    out = Path(out_dir)
    paths = {"interactions": out / f"interactions.{format}", "items": out / f"items.{format}",
             "summary": out / "synth.json"}  # fmt: skip
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path in paths.values():
            path.touch()
    except OSError as error:
        raise ConfigError(f"synth: cannot write to {out}: {error.strerror or error}") from None

    catalogue = _catalogue(params)
    counts = activity(params)
    items_table = pa.Table.from_pandas(_items_frame(params, catalogue), preserve_index=False)
    _write_table(items_table, paths["items"], format)

    schema = pa.schema([("user_id", pa.string()), ("item_id", pa.string()), ("timestamp", pa.int64())])
    item_strings = pa.array(item_ids(params.items), pa.string())
    repeats, seen = 0, np.zeros(params.items, dtype=bool)
    # one chunk is written (in a second thread: pyarrow releases the GIL) while the next is generated
    with _TableWriter(paths["interactions"], schema, format) as writer, ThreadPoolExecutor(1) as pool:
        pending: Future[None] | None = None
        for chunk in _chunks(params, catalogue, counts):
            first = int(chunk.users[0])
            users = pa.array(user_ids(first, int(chunk.users[-1]) + 1, params.users), pa.string())
            table = pa.table([users.take(pa.array(chunk.users - first)), item_strings.take(pa.array(chunk.items)),
                              pa.array(chunk.timestamps, pa.int64())], schema=schema)  # fmt: skip
            repeats += chunk.repeats
            seen[chunk.items] = True
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write, table)
        if pending is not None:
            pending.result()

    summary: dict[str, Any] = {
        "params": params_to_dict(params),
        "format": format,
        "counts": {
            "users": params.users,
            "items": params.items,
            "events": params.events,
            "clusters": params.n_clusters,
            "repeated_pairs": repeats,
            "items_with_events": int(seen.sum()),
            "events_per_user": {"min": int(counts.min()), "median": float(np.median(counts)), "max": int(counts.max())},
        },
        "categories": catalogue.names,
        "files": {name: path.name for name, path in paths.items() if name != "summary"},
    }
    paths["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return paths


class _TableWriter:
    """Appends pyarrow tables to one CSV (unquoted: no field holds a comma or a quote) or Parquet file."""

    def __init__(self, path: Path, schema: Any, format: str) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if format == "csv":
            options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
            self.writer: Any = pacsv.CSVWriter(str(path), schema, write_options=options)
        else:
            self.writer = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, table: Any) -> None:
        self.writer.write_table(table)

    def __enter__(self) -> _TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.close()


def _write_table(table: Any, path: Path, format: str) -> None:
    with _TableWriter(path, table.schema, format) as writer:
        writer.write(table)
