"""The synthetic log generator (`prismrec.data.synth`) and `prismrec synth`: determinism, exact counts, the
structure it promises (power-law popularity, clustered interests, increasing timestamps, rare repeats) and
files that `prismrec fit` and `prismrec recommend` read as they are."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from prismrec.cli import app
from prismrec.data import synth, synth_text
from prismrec.data.generic import load_generic
from prismrec.data.synth import SynthParams, synth_items, synth_log, write_synth
from prismrec.errors import ConfigError

SMALL = SynthParams(users=300, items=200, events=6000, seed=1)
MEDIUM = SynthParams(users=2000, items=2000, events=100_000, seed=3)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def user_error(result: Result) -> str:
    assert result.exit_code == 1, f"exit {result.exit_code}: {result.stdout} {result.stderr} {result.exception!r}"
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message
    return message


def with_(params: SynthParams, **changes: object) -> SynthParams:
    return SynthParams(**{**synth.params_to_dict(params), **changes})


def top_category_share(events: pd.DataFrame, items: pd.DataFrame, min_events: int = 1) -> float:
    """Mean over users (with at least `min_events` events) of the share of their events in their top category."""
    joined = events.merge(items, on="item_id")
    per_user = joined.groupby("user_id").size()
    top = joined.groupby(["user_id", "categories"]).size().groupby("user_id").max() / per_user
    return float(top[per_user >= min_events].mean())


def rank_frequency(events: pd.DataFrame) -> tuple[float, float]:
    """(slope of log count on log rank over the top half of the items, share of events on the top 1% of items)."""
    counts = np.sort(events.item_id.value_counts().to_numpy())[::-1]
    half = len(counts) // 2
    slope = np.polyfit(np.log(np.arange(1, half + 1)), np.log(counts[:half]), 1)[0]
    return float(slope), float(counts[: max(1, len(counts) // 100)].sum() / counts.sum())


@pytest.fixture(scope="module")
def medium() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synth_log(MEDIUM)


# ------------------------------------------------------------------ counts, ids, determinism


@pytest.mark.parametrize("params", [SMALL, with_(SMALL, events=300), with_(SMALL, items=1, events=300, clusters=1),
                                    with_(SMALL, users=1, events=100), MEDIUM])  # fmt: skip
def test_exact_counts_and_every_user_has_an_event(params: SynthParams) -> None:
    events, items = synth_log(params)
    assert list(events.columns) == ["user_id", "item_id", "timestamp"]
    assert list(items.columns) == ["item_id", "title", "categories"]
    assert len(events) == params.events and len(items) == params.items
    per_user = events.user_id.value_counts()
    assert len(per_user) == params.users and per_user.min() >= 1 and per_user.max() <= max(1, params.items // 2)
    assert set(events.item_id) <= set(items.item_id) and items.item_id.is_unique
    assert events.user_id.iloc[0] == "u000000" and items.item_id.iloc[-1] == f"i{params.items - 1:06d}"
    assert items.categories.nunique() == params.n_clusters


def test_default_clusters_grow_with_the_square_root_of_the_catalogue() -> None:
    assert [SynthParams(items=n).n_clusters for n in (1, 3, 200, 2000, 50_000, 10**6)] == [1, 2, 4, 11, 56, 100]
    assert SynthParams(items=2000, clusters=7).n_clusters == 7


def test_same_seed_same_files_another_seed_other_files(tmp_path: Path) -> None:
    def files(seed: int, folder: str, format: str) -> list[bytes]:
        paths = write_synth(with_(SMALL, seed=seed), tmp_path / folder, format)
        return [paths[name].read_bytes() for name in ("interactions", "items", "summary")]

    for format in ("csv", "parquet"):
        first = files(1, f"a-{format}", format)
        assert files(1, f"b-{format}", format) == first
        other = files(2, f"c-{format}", format)
        assert other[0] != first[0] and other[1] != first[1]


def test_files_hold_the_rows_of_synth_log_across_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks: counts stay exact and the streamed file equals the in-memory frame."""
    monkeypatch.setattr(synth, "CHUNK_EVENTS", 500)
    monkeypatch.setattr(synth, "CHUNK_USERS", 64)
    assert len(synth.chunk_bounds(synth.activity(SMALL))) > 10
    events, items = synth_log(SMALL)
    paths = write_synth(SMALL, tmp_path, "csv")
    assert pd.read_csv(paths["interactions"], dtype={"timestamp": np.int64}).equals(events)
    assert pd.read_csv(paths["items"], dtype=str).equals(items) and synth_items(SMALL).equals(items)
    assert events.user_id.value_counts().min() >= 1 and len(events) == SMALL.events


def test_summary_names_parameters_and_counts(tmp_path: Path) -> None:
    summary = json.loads(write_synth(SMALL, tmp_path)["summary"].read_text())
    assert summary["params"]["users"] == 300 and summary["params"]["cluster_affinity"] == 0.8
    counts = summary["counts"]
    assert (counts["users"], counts["items"], counts["events"], counts["clusters"]) == (300, 200, 6000, 4)
    assert counts["events_per_user"]["min"] >= 1 and counts["repeated_pairs"] < 0.01 * 6000
    assert summary["files"] == {"interactions": "interactions.csv", "items": "items.csv"}


# ------------------------------------------------------------------ structure


def test_popularity_follows_a_power_law(medium: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    slope, top_share = rank_frequency(medium[0])
    assert top_share > 0.08, "the top 1% of items should hold far more than 1% of the events"
    assert -1.0 < slope < -0.45
    flatter, _ = rank_frequency(synth_log(with_(MEDIUM, popularity_exponent=0.5))[0])
    steeper, _ = rank_frequency(synth_log(with_(MEDIUM, popularity_exponent=1.5))[0])
    assert steeper < slope - 0.05 and slope < flatter - 0.15
    uniform, uniform_top = rank_frequency(synth_log(with_(MEDIUM, popularity_exponent=0.0))[0])
    assert abs(uniform) < 0.15 and uniform_top < 0.02


def test_users_concentrate_on_their_clusters(medium: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    clustered = top_category_share(*medium)
    assert clustered > 0.5
    spread = top_category_share(*synth_log(with_(MEDIUM, cluster_affinity=0.0)))
    assert spread < clustered - 0.3
    # no affinity and no popularity skew: every category is as likely, so the top one holds ≈ 1/clusters
    even = with_(MEDIUM, users=200, events=60_000, clusters=4, cluster_affinity=0.0, popularity_exponent=0.0)
    assert abs(top_category_share(*synth_log(even), min_events=50) - 1 / 4) < 0.07


def test_timestamps_increase_per_user_inside_the_window(medium: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    events = medium[0]
    same_user = events.user_id.to_numpy()[1:] == events.user_id.to_numpy()[:-1]
    assert (np.diff(events.timestamp.to_numpy())[same_user] > 0).all()
    assert events.timestamp.min() >= MEDIUM.start and events.timestamp.max() < MEDIUM.end
    tight = synth_log(with_(SMALL, start=1000, end=1100))[0]  # a window just wide enough for the busiest user
    assert (tight.groupby("user_id").timestamp.diff().dropna() > 0).all()
    assert tight.timestamp.between(1000, 1099).all()


def test_repeated_pairs_are_rare(medium: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    for events in (medium[0], synth_log(SMALL)[0]):
        assert events.duplicated(["user_id", "item_id"]).mean() < 0.005


def test_titles_come_from_the_cluster_word_lists(medium: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    items = medium[1]
    assert items.title.str.fullmatch(r"[A-Z][\w-]* [\w -]+ [A-Z]{2}-\d{3,4}").all()
    assert not items.title.str.contains(r"[,\"|]").any() and not items.categories.str.contains(r"[,\"|]").any()
    assert set(items.categories) == set(synth_text.cluster_names(MEDIUM.n_clusters))
    nouns = {noun.title() for noun in synth_text.THEMES[0][1]}
    audio = items[items.categories == "audio"].title.str.split().str[1:-1].str.join(" ")
    assert set(audio) <= nouns  # a cluster's titles use its theme's nouns
    assert len(set(synth_text.cluster_names(300))) == 300


# ------------------------------------------------------------------ files and the command


def test_parquet_and_csv_agree(tmp_path: Path) -> None:
    csv_paths = write_synth(SMALL, tmp_path / "csv", "csv")
    parquet_paths = write_synth(SMALL, tmp_path / "parquet", "parquet")
    for name in ("interactions", "items"):
        from_csv = pd.read_csv(csv_paths[name], dtype=str, keep_default_na=False)
        assert pd.read_parquet(parquet_paths[name]).astype(str).equals(from_csv)
    a = load_generic(csv_paths["interactions"], csv_paths["items"])
    b = load_generic(parquet_paths["interactions"], parquet_paths["items"])
    for field in ("users", "items", "timestamps"):
        assert np.array_equal(getattr(a.interactions, field), getattr(b.interactions, field))
    assert a.catalog.categories == b.catalog.categories and a.catalog.table.title.equals(b.catalog.table.title)
    assert len(a.interactions) > 0.99 * SMALL.events and len(a.interactions.user_ids) == SMALL.users
    assert a.catalog.categories[0] and a.catalog.text_fields[0] == "title"


def test_cli_writes_files_that_fit_and_recommend_accept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = ok(invoke("synth", "--users", 300, "--items", 200, "--events", 6000, "--seed", 1, "--out", data))
    assert "wrote 6000 events (300 users, 200 items, 4 categories)" in result.stdout
    assert (data / "interactions.csv").read_bytes() == write_synth(SMALL, tmp_path / "lib")["interactions"].read_bytes()
    fitted = ok(invoke("fit", "--interactions", data / "interactions.csv", "--items", data / "items.csv",
                       "--model", "ease", "--out", tmp_path / "model", "--json"))  # fmt: skip
    summary = json.loads(fitted.stdout)
    assert (summary["users"], summary["items"]) == (300, 200)
    ok(invoke("recommend", "--model", tmp_path / "model", "--all-users", "-k", "5", "--out", tmp_path / "recs.csv"))
    with open(tmp_path / "recs.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 300 * 5 and len({row["user_id"] for row in rows}) == 300


def test_cli_json_and_parquet(tmp_path: Path) -> None:
    result = ok(invoke("synth", "--users", 50, "--items", 40, "--events", 500, "--out", tmp_path, "--format",
                       "parquet", "--param", "clusters=3", "--param", "cluster_affinity=0.5", "--json"))  # fmt: skip
    summary = json.loads(result.stdout)
    assert summary["counts"]["clusters"] == 3 and summary["params"]["cluster_affinity"] == 0.5
    assert Path(summary["files"]["interactions"]) == tmp_path / "interactions.parquet"
    assert len(pd.read_parquet(tmp_path / "interactions.parquet")) == 500


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--users", 100, "--events", 99), "must be at least users"),
        (("--items", 0), "below the minimum 1"),
        (("--users", 10, "--items", 4, "--events", 30), "must be at most users"),
        (("--format", "json"), "format 'json'"),
        (("--param", "clusters=0"), "below the minimum 1"),
        (("--param", "users=5"), "give it as --users"),
        (("--param", "colour=red"), "has no parameter"),
        (("--param", "cluster_affinity=2"), "above the maximum"),
        (("--param", "start=100", "--param", "end=50"), "end - start"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path: Path, args: tuple[object, ...], expected: str) -> None:
    assert expected in user_error(invoke("synth", "--out", tmp_path / "out", *map(str, args)))
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    message = user_error(invoke("synth", "--users", 5, "--events", 10, "--out", tmp_path / "file" / "sub"))
    assert "cannot write to" in message
    with pytest.raises(ConfigError, match="must be at least users"):
        synth_log(SynthParams(users=10, events=5))
