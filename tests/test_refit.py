"""The refit job (base files + the service's events and new items) and event retention, through the CLI."""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from prismrec.cli import app
from prismrec.core.persistence import load_pipeline
from prismrec.serving.store import Event, ItemChange, Store

EVENTS = "user_id,item_id,rating,timestamp\nu1,i1,5,100\nu1,i2,3,101\nu2,i2,4,102\nu2,i3,2,103\nu3,i1,4,104\n"
ITEMS = "item_id,title,categories\ni1,Red camera,Cameras\ni2,Blue camera,Cameras\ni3,Green tea,Tea\n"


def run(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_refit_adds_the_services_events_and_items(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
    run("fit", "--interactions", tmp_path / "events.csv", "--items", tmp_path / "items.csv", "--model", "itemknn",
        "--out", tmp_path / "model")  # fmt: skip
    store = Store(tmp_path / "service.db")
    store.save_item(ItemChange("i4", "Black tea", "Smoky", ("Tea",), deleted=False))
    store.add_events([Event("u4", "i4", "purchase", None, 200.0), Event("u1", "i3", "rating", 4.0, 201.0)])
    run("refit", "--model", tmp_path / "model", "--db", tmp_path / "service.db", "--interactions",
        tmp_path / "events.csv", "--items", tmp_path / "items.csv", "--out", tmp_path / "refitted")  # fmt: skip
    refitted = load_pipeline(tmp_path / "refitted")
    assert refitted.config.scorer.name == "itemknn"  # the served model's configuration
    assert refitted.item_ids is not None and "i4" in refitted.item_ids
    assert refitted.user_ids is not None and "u4" in refitted.user_ids
    assert refitted.history is not None and refitted.history.nnz == 5 + 2
    assert refitted.titles[refitted.item_ids.index("i4")] == "Black tea"


def test_compact_deletes_only_old_events(tmp_path: Path) -> None:
    store = Store(tmp_path / "service.db")
    now = time.time()
    store.add_events([Event("u1", "i1", "view", None, now - 10 * 86_400), Event("u1", "i2", "view", None, now)])
    assert "deleted 1 events" in run("compact", "--db", tmp_path / "service.db", "--older-than-days", "7")
    assert [e.item_id for e in store.user_events("u1", 10)] == ["i2"]
