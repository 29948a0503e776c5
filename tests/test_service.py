"""The HTTP service end to end: the real `prismrec serve` in a subprocess, spoken to over loopback.

A module fixture fits a small synthetic shop (60 items in four clearly different themes: cameras,
hiking, coffee, books; 40 users who each buy within one or two themes) with `prismrec fit`
(item-hybrid EASE + TF-IDF text vectors + DPP), creates an API key with `prismrec keys create` and
starts `prismrec serve` on a free port. Tests share that server and keep to their own users and
items, so their order does not matter. Durability tests start servers of their own.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from prismrec.serving.process import ServerProcess

THEMES: dict[str, dict[str, list[str]]] = {
    "Cameras": {
        "nouns": ["camera", "lens", "tripod", "flash", "viewfinder"],
        "words": ["mirrorless", "sensor", "megapixel", "shutter", "aperture", "zoom", "autofocus", "photography",
                  "exposure", "telephoto", "portrait", "bokeh", "image", "stabilisation", "optical"],
    },
    "Hiking": {
        "nouns": ["backpack", "tent", "boots", "trekking poles", "sleeping bag"],
        "words": ["trail", "mountain", "waterproof", "outdoor", "summit", "camping", "hiking", "lightweight",
                  "wilderness", "rugged", "alpine", "expedition", "ridge", "weatherproof", "ultralight"],
    },
    "Coffee": {
        "nouns": ["espresso machine", "grinder", "coffee beans", "kettle", "pour-over dripper"],
        "words": ["arabica", "roast", "brew", "barista", "crema", "caffeine", "aroma", "latte", "cappuccino",
                  "burr", "filter", "robusta", "single-origin", "beans", "milk frother"],
    },
    "Books": {
        "nouns": ["novel", "biography", "anthology", "mystery novel", "poetry collection"],
        "words": ["author", "chapter", "paperback", "hardcover", "fiction", "literature", "story", "reader",
                  "narrative", "prose", "bestseller", "edition", "publisher", "storytelling", "memoir"],
    },
}  # fmt: skip
ITEMS_PER_THEME = 15
N_USERS = 40
SUBPROCESS_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


# ------------------------------------------------------------------ synthetic shop


@dataclass(frozen=True)
class Shop:
    """The catalogue and purchase log written for `prismrec fit`."""

    items: dict[str, tuple[str, str, str]]  # item_id -> (title, description, theme)
    purchases: dict[str, list[str]]  # user_id -> items bought, oldest first
    themes: dict[str, list[str]]  # user_id -> the themes the user buys in

    @staticmethod
    def theme_of(item_id: str) -> str:
        """The theme an item id names (`coffee-07`, and items added by the tests, e.g. `coffee-new`)."""
        theme = item_id.split("-", 1)[0].capitalize()
        assert theme in THEMES, f"unexpected item {item_id!r}"
        return theme

    def theme_items(self, theme: str) -> list[str]:
        return [item for item, (_, _, t) in self.items.items() if t == theme]

    def single_theme_users(self, theme: str) -> list[str]:
        return [user for user, themes in self.themes.items() if themes == [theme]]


def make_shop(seed: int = 7) -> Shop:
    """60 items (15 per theme) and 40 users: u00-u19 buy in one theme, u20-u39 in two."""
    rng = random.Random(seed)
    items: dict[str, tuple[str, str, str]] = {}
    for theme, vocabulary in THEMES.items():
        for j in range(ITEMS_PER_THEME):
            noun = vocabulary["nouns"][j % len(vocabulary["nouns"])]
            words = rng.sample(vocabulary["words"], 6)
            title = f"{words[0].capitalize()} {noun} {j + 1}"
            description = f"A {words[1]} {noun} for {words[2]} and {words[3]}, with {words[4]} {words[5]}."
            items[f"{theme.lower()}-{j:02d}"] = (title, description, theme)
    names = list(THEMES)
    purchases: dict[str, list[str]] = {}
    themes: dict[str, list[str]] = {}
    for u in range(N_USERS):
        user = f"u{u:02d}"
        chosen = [names[u % 4]] if u < 20 else [names[u % 4], names[(u // 4) % 4]]
        chosen = list(dict.fromkeys(chosen))
        bought: list[str] = []
        for theme in chosen:
            pool = [item for item, (_, _, t) in items.items() if t == theme]
            bought += rng.sample(pool, 8 if len(chosen) == 1 else 5)
        rng.shuffle(bought)
        purchases[user], themes[user] = bought, chosen
    return Shop(items, purchases, themes)


SHOP = make_shop()
CONFIG = """
[scorer]
name = "item-hybrid"
semantic_weight = 0.05
neighbours = 20

[scorer.cf]
name = "ease"
lambda = 10.0

[encoder]
model = "tfidf"

[rerank]
name = "dpp"
"""


def write_shop(folder: Path, shop: Shop) -> tuple[Path, Path, Path]:
    events = folder / "events.csv"
    lines = ["user_id,item_id,rating,timestamp"]
    t = 1_600_000_000
    for user, bought in shop.purchases.items():
        for item in bought:
            t += 60
            lines.append(f"{user},{item},5,{t}")
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = folder / "items.csv"
    rows = ["item_id,title,description,categories"]
    rows += [f'{item},{title},"{description}",{theme}' for item, (title, description, theme) in shop.items.items()]
    items.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = folder / "cfg.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return events, items, config


# ------------------------------------------------------------------ running the real command


def prismrec(*args: str | Path, timeout: float = 300.0) -> str:
    """Run `python -m prismrec ARGS` and return its stdout (fails the test on a non-zero exit)."""
    done = subprocess.run([sys.executable, "-m", "prismrec", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **SUBPROCESS_ENV})  # fmt: skip
    assert done.returncode == 0, f"prismrec {args[0]} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Service:
    """The shared server, an HTTP client, the API key and the files behind them."""

    server: ServerProcess
    client: httpx.Client
    key: str
    model: Path
    db: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def recommend(self, user: str, **params: Any) -> list[str]:
        response = self.client.get(f"/v1/users/{user}/recommendations", params=params)
        assert response.status_code == 200, response.text
        return [entry["item_id"] for entry in response.json()["items"]]

    def similar(self, item: str, **params: Any) -> list[str]:
        response = self.client.get(f"/v1/items/{item}/similar", params=params)
        assert response.status_code == 200, response.text
        return [entry["item_id"] for entry in response.json()["items"]]

    def post_events(self, events: list[dict[str, Any]], client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.client).post("/v1/events", json={"events": events}, headers=self.auth)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    events, items, config = write_shop(folder, SHOP)
    prismrec("fit", "--interactions", events, "--items", items, "--config", config, "--out", folder / "model")
    return folder / "model"


def new_key(db: Path, name: str = "tests") -> str:
    output = prismrec("keys", "create", "--db", db, "--name", name)
    lines = output.splitlines()
    assert len(lines) == 1 and lines[0].strip() == lines[0] and len(lines[0]) >= 16, output
    return lines[0]


@pytest.fixture(scope="module")
def service(model_dir: Path) -> Iterator[Service]:
    folder = model_dir.parent
    db = folder / "service.db"
    key = new_key(db)
    server = ServerProcess(model_dir, db, folder / "server.log", SUBPROCESS_ENV).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            yield Service(server, client, key, model_dir, db)
    finally:
        server.stop()


def event(user: str, item: str, kind: str = "purchase", value: float | None = None,
          ts: float | None = None) -> dict[str, Any]:  # fmt: skip
    return {"user_id": user, "item_id": item, "type": kind, "value": value, "ts": ts}


def count_rows(db: Path, where: str = "1 = 1", params: tuple[Any, ...] = ()) -> int:
    with sqlite3.connect(db, timeout=30.0) as connection:
        return int(connection.execute(f"SELECT COUNT(*) FROM events WHERE {where}", params).fetchone()[0])


def metric_total(text: str, name: str) -> float:
    """The sum of every sample of metric `name` (all label sets) in a Prometheus text page."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ------------------------------------------------------------------ status endpoints and keys


def test_health_ready_and_openapi(service: Service) -> None:
    health = service.client.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = service.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    spec = service.client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/v1/users/{user_id}/recommendations", "/v1/items/{item_id}/similar", "/v1/events",
                 "/v1/users/{user_id}/events", "/v1/items/{item_id}", "/admin/reload"):  # fmt: skip
        assert path in paths, f"{path} missing from /openapi.json"


def test_keys_are_stored_only_as_hashes(service: Service) -> None:
    raw = service.db.read_bytes() + b"".join(
        p.read_bytes() for p in service.db.parent.glob(service.db.name + "-*") if p.is_file()
    )
    assert service.key.encode() not in raw


# ------------------------------------------------------------------ recommendations


def test_recommendations_for_a_known_user(service: Service) -> None:
    response = service.client.get("/v1/users/u05/recommendations", params={"k": 7})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "u05"
    items = body["items"]
    assert len(items) == 7 and len({entry["item_id"] for entry in items}) == 7
    for entry in items:
        assert set(entry) >= {"item_id", "score", "reason"}
        assert SHOP.theme_of(entry["item_id"])
        assert isinstance(entry["score"], float)
        assert isinstance(entry["reason"], str) and entry["reason"].strip()
    assert not {entry["item_id"] for entry in items} & set(SHOP.purchases["u05"]), "seen items recommended"
    assert len(service.recommend("u05")) == 10, "default k is 10"


def test_recommendations_follow_the_users_theme(service: Service) -> None:
    for user in ("u00", "u01", "u02", "u03"):
        theme = SHOP.themes[user][0]
        top = service.recommend(user, k=5, diversity=0)
        assert sum(SHOP.theme_of(item) == theme for item in top) >= 4, (user, theme, top)


@pytest.mark.parametrize("reranker", [None, "mmr"])
def test_diversity_zero_is_score_order(service: Service, reranker: str | None) -> None:
    params: dict[str, Any] = {"k": 10, "diversity": 0}
    if reranker:
        params["reranker"] = reranker
    items = service.client.get("/v1/users/u24/recommendations", params=params).json()["items"]
    scores = [entry["score"] for entry in items]
    assert scores == sorted(scores, reverse=True), scores


@pytest.mark.parametrize("reranker", ["mmr", "dpp", "calibrated", "xquad"])
def test_every_registered_reranker_answers(service: Service, reranker: str) -> None:
    items = service.recommend("u06", k=10, reranker=reranker, diversity=0.5)
    assert len(items) == 10 and not set(items) & set(SHOP.purchases["u06"])


def test_exclude_and_category(service: Service) -> None:
    top = service.recommend("u09", k=5)
    excluded = top[:2]
    again = service.recommend("u09", k=10, exclude=",".join(excluded))
    assert len(again) == 10 and not set(again) & set(excluded)
    coffee = service.recommend("u09", k=10, category="Coffee")
    assert coffee and all(SHOP.theme_of(item) == "Coffee" for item in coffee), coffee
    assert not set(coffee) & set(SHOP.purchases["u09"])


def test_a_category_with_fewer_items_than_k(service: Service) -> None:
    """u03 bought 8 of the 15 books: asking for 20 books gives the 7 left, not an error."""
    books = service.recommend("u03", k=20, category="Books")
    assert 0 < len(books) <= 7 and all(SHOP.theme_of(item) == "Books" for item in books), books
    assert not set(books) & set(SHOP.purchases["u03"])
    assert service.recommend("u03", k=10, category="No such category") == []


def test_unknown_user_gets_a_cold_start_list(service: Service) -> None:
    response = service.client.get("/v1/users/never-seen-before/recommendations", params={"k": 12})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "never-seen-before"
    items = [entry["item_id"] for entry in body["items"]]
    assert len(items) == 12 and len(set(items)) == 12
    assert len({SHOP.theme_of(item) for item in items}) >= 3, f"cold-start list is not diverse: {items}"


def test_explain_names_the_history_items_behind_each_item(service: Service) -> None:
    plain = service.client.get("/v1/users/u05/recommendations", params={"k": 7}).json()["items"]
    assert all("because" not in entry for entry in plain), "attribution only with explain=true"
    response = service.client.get("/v1/users/u05/recommendations", params={"k": 7, "explain": "true"})
    assert response.status_code == 200, response.text
    explained = response.json()["items"]
    assert [(e["item_id"], e["score"], e["reason"]) for e in explained] == [
        (e["item_id"], e["score"], e["reason"]) for e in plain], "explain changed the list"  # fmt: skip
    for entry in explained:
        assert isinstance(entry["reason"], str) and entry["reason"].strip()
        because = entry["because"]
        assert isinstance(because, list) and len(because) <= 3
        for cause in because:
            assert set(cause) == {"item_id", "title", "weight"}
            assert cause["item_id"] in SHOP.purchases["u05"], "attributed to an item the user never had"
            assert cause["title"] == SHOP.items[cause["item_id"]][0]
            assert 0.0 < cause["weight"] <= 1.0
        weights = [cause["weight"] for cause in because]
        assert weights == sorted(weights, reverse=True) and sum(weights) <= 1.0 + 1e-6
    assert any(entry["because"] for entry in explained), "no item was attributed to the history"
    cold = service.client.get("/v1/users/explain-nobody/recommendations", params={"k": 5, "explain": "true"})
    assert cold.status_code == 200 and len(cold.json()["items"]) == 5
    assert all(entry["because"] == [] and entry["reason"].strip() for entry in cold.json()["items"])
    user, bought = "explain-live-user", "coffee-03"
    assert service.post_events([event(user, bought)]).status_code == 200
    live = service.client.get(f"/v1/users/{user}/recommendations", params={"k": 5, "explain": "true"}).json()
    assert len(live["items"]) == 5 and bought not in [entry["item_id"] for entry in live["items"]]
    causes = [cause for entry in live["items"] for cause in entry["because"]]
    assert causes and all(cause["item_id"] == bought and cause["weight"] == pytest.approx(1.0) for cause in causes)


def test_similar_items(service: Service) -> None:
    response = service.client.get("/v1/items/cameras-03/similar", params={"k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["item_id"] == "cameras-03"
    items = [entry["item_id"] for entry in body["items"]]
    assert len(items) == 5 and "cameras-03" not in items
    assert all(SHOP.theme_of(item) == "Cameras" for item in items), items
    assert all(entry["reason"] for entry in body["items"])
    assert len(service.similar("cameras-03", k=5, diversity=0.8)) == 5
    assert service.client.get("/v1/items/no-such-item/similar").status_code == 404


# ------------------------------------------------------------------ auth


def test_writes_need_a_key_reads_do_not(service: Service) -> None:
    body = {"events": [event("auth-user", "books-01")]}
    wrong = {"Authorization": "Bearer not-a-real-key"}
    assert service.client.post("/v1/events", json=body).status_code == 401
    assert service.client.post("/v1/events", json=body, headers=wrong).status_code == 403
    assert service.client.post("/admin/reload", json={}).status_code == 401
    assert service.client.post("/admin/reload", json={}, headers=wrong).status_code == 403
    item = {"title": "Unauthorised camera", "description": None, "categories": ["Cameras"]}
    assert service.client.put("/v1/items/auth-item", json=item).status_code == 401
    assert service.client.delete("/v1/items/cameras-14").status_code == 401
    assert count_rows(service.db, "user_id = ?", ("auth-user",)) == 0
    assert service.client.get("/v1/users/u01/recommendations").status_code == 200
    assert service.client.get("/v1/items/books-01/similar").status_code == 200
    assert service.client.get("/v1/users/u01/events").status_code == 200


# ------------------------------------------------------------------ events


def test_an_event_changes_the_next_recommendation(service: Service) -> None:
    user = "u04"  # buys cameras only
    assert SHOP.themes[user] == ["Cameras"]
    before = service.recommend(user, k=10, diversity=0)
    clicked = before[0]
    coffee = SHOP.theme_items("Coffee")[:4]
    response = service.post_events([event(user, clicked), *(event(user, item) for item in coffee)])
    assert response.status_code == 200 and response.json() == {"stored": 5}
    after = service.recommend(user, k=10, diversity=0)
    assert clicked not in after and not set(coffee) & set(after)
    coffee_before = sum(SHOP.theme_of(item) == "Coffee" for item in before)
    coffee_after = sum(SHOP.theme_of(item) == "Coffee" for item in after)
    assert coffee_after > coffee_before, (before, after)


def test_a_new_users_first_event_is_excluded(service: Service) -> None:
    user = "brand-new-user"
    first = service.recommend(user, k=10)
    assert service.post_events([event(user, first[0], "view")]).status_code == 200
    assert first[0] not in service.recommend(user, k=10)


def test_events_list_newest_first_with_limit(service: Service) -> None:
    user = "history-user"
    sent = [event(user, "books-00", "view", None, 1000.0), event(user, "books-01", "rating", 4.5, 3000.0),
            event(user, "books-02", "cart", None, 2000.0)]  # fmt: skip
    assert service.post_events(sent).status_code == 200
    time.sleep(0.01)
    assert service.post_events([event(user, "books-03", "click")]).status_code == 200  # ts: now
    response = service.client.get(f"/v1/users/{user}/events", params={"limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == user
    listed = body["events"]
    assert [e["item_id"] for e in listed] == ["books-03", "books-01", "books-02"]
    assert listed[0]["type"] == "click" and listed[0]["ts"] > 1_700_000_000
    assert listed[1] == {"user_id": user, "item_id": "books-01", "type": "rating", "value": 4.5, "ts": 3000.0}
    everything = service.client.get(f"/v1/users/{user}/events").json()["events"]
    assert [e["item_id"] for e in everything] == ["books-03", "books-01", "books-02", "books-00"]
    assert service.client.get("/v1/users/nobody-at-all/events").json()["events"] == []


def test_concurrent_ingest_stores_every_event_once(service: Service) -> None:
    items = list(SHOP.items)
    batches = [[event(f"bulk-{b}-{i % 10}", items[(b + i) % len(items)], "view", None, 1_700_000_000.0 + i)
                for i in range(100)] for b in range(100)]  # fmt: skip
    local = threading.local()

    def send(batch: list[dict[str, Any]]) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=service.server.url, timeout=60.0)
        response = service.post_events(batch, local.client)
        assert response.status_code == 200, response.text
        return int(response.json()["stored"])

    before = metric_total(service.client.get("/metrics").text, "prismrec_events_ingested_total")
    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(send, batches))
    assert sum(stored) == 10_000
    assert count_rows(service.db, "user_id LIKE 'bulk-%'") == 10_000
    after = metric_total(service.client.get("/metrics").text, "prismrec_events_ingested_total")
    assert after - before == 10_000


# ------------------------------------------------------------------ catalogue changes


def test_a_new_item_is_recommendable_at_once(service: Service) -> None:
    fan = "u02"  # buys coffee only
    assert SHOP.themes[fan] == ["Coffee"]
    twin = SHOP.purchases[fan][0]  # the new item is written like one of the fan's purchases
    title, description, _ = SHOP.items[twin]
    body = {"title": f"{title} deluxe", "description": f"{description} Barista roast aroma.", "categories": ["Coffee"]}
    response = service.client.put("/v1/items/coffee-new", json=body, headers=service.auth)
    assert response.status_code == 200
    assert response.json() == {"item_id": "coffee-new", "created": True}
    assert "coffee-new" in service.similar(twin, k=10)
    assert "coffee-new" in service.recommend(fan, k=10)
    assert "coffee-new" in service.recommend(fan, k=5, category="Coffee")
    again = service.client.put("/v1/items/coffee-new", json=body, headers=service.auth)
    assert again.status_code == 200 and again.json() == {"item_id": "coffee-new", "created": False}
    assert service.post_events([event("new-item-buyer", "coffee-new")]).status_code == 200


def test_a_deleted_item_never_appears_again(service: Service) -> None:
    gone = "hiking-05"
    fans = [user for user, bought in SHOP.purchases.items() if "Hiking" in SHOP.themes[user] and gone not in bought]
    assert any(gone in service.recommend(user, k=10, diversity=0) for user in fans)
    response = service.client.delete(f"/v1/items/{gone}", headers=service.auth)
    assert response.status_code == 200 and response.json() == {"item_id": gone, "deleted": True}
    for user in [*SHOP.purchases, "cold-after-delete"]:
        assert gone not in service.recommend(user, k=30), user
        assert gone not in service.recommend(user, k=30, reranker="mmr", diversity=0.9), user
    assert gone not in service.recommend("u01", k=5, category="Hiking")
    for item in SHOP.theme_items("Hiking"):
        if item != gone:
            assert gone not in service.similar(item, k=20), item
            assert gone not in service.similar(item, k=20, diversity=0.5), item
    assert service.client.get(f"/v1/items/{gone}/similar").status_code == 404
    assert service.client.delete(f"/v1/items/{gone}", headers=service.auth).status_code == 404
    assert service.client.delete("/v1/items/no-such-item", headers=service.auth).status_code == 404


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/users/u01/recommendations", {"k": 0}, "k"),
        ("/v1/users/u01/recommendations", {"k": 101}, "k"),
        ("/v1/users/u01/recommendations", {"k": "ten"}, "k"),
        ("/v1/users/u01/recommendations", {"diversity": 1.5}, "diversity"),
        ("/v1/users/u01/recommendations", {"reranker": "no-such-reranker"}, "reranker"),
        ("/v1/items/books-01/similar", {"k": 0}, "k"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(service: Service, path: str, params: dict[str, Any],
                                                       field: str) -> None:  # fmt: skip
    response = service.client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


@pytest.mark.parametrize(
    ("events", "field"),
    [
        ([{"user_id": "v", "item_id": "books-01", "type": "like"}], "type"),
        ([{"user_id": "v", "item_id": "no-such-item", "type": "view"}], "item_id"),
        ([{"item_id": "books-01", "type": "view"}], "user_id"),
        ([{"user_id": "v", "item_id": "books-01", "type": "rating", "value": "high"}], "value"),
        ([], "events"),
    ],
)
def test_bad_events_are_422_naming_the_field(service: Service, events: list[dict[str, Any]], field: str) -> None:
    response = service.client.post("/v1/events", json={"events": events}, headers=service.auth)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert count_rows(service.db, "user_id = 'v'") == 0


def test_a_batch_of_more_than_1000_events_is_refused(service: Service) -> None:
    batch = [event("too-many", "books-01", "view") for _ in range(1001)]
    assert service.post_events(batch).status_code in (413, 422)
    assert count_rows(service.db, "user_id = 'too-many'") == 0


def test_a_bad_item_body_is_422_naming_the_field(service: Service) -> None:
    response = service.client.put("/v1/items/bad-item", json={"description": "no title"}, headers=service.auth)
    assert response.status_code == 422 and "title" in response.text
    response = service.client.put("/v1/items/bad-item", json={"title": "T", "categories": "Books"},
                                  headers=service.auth)  # fmt: skip
    assert response.status_code == 422 and "categories" in response.text


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_1_mb_is_413(service: Service, chunked: bool) -> None:
    body = json.dumps({"events": [event("big-body", "books-01", "view") | {"pad": "x" * 1_100_000}]}).encode()
    headers = {**service.auth, "Content-Type": "application/json"}
    content: Any = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = service.client.post("/v1/events", content=content, headers=headers)
    assert response.status_code == 413, response.text[:300]
    assert count_rows(service.db, "user_id = 'big-body'") == 0


# ------------------------------------------------------------------ hot reload and metrics


def test_hot_reload_under_load_fails_no_request(service: Service) -> None:
    title, description, _ = SHOP.items["coffee-07"]
    body = {"title": f"{title} reloaded", "description": description, "categories": ["Coffee"]}
    assert service.client.put("/v1/items/coffee-reload", json=body, headers=service.auth).status_code == 200
    assert service.client.delete("/v1/items/books-13", headers=service.auth).status_code == 200
    stop = threading.Event()
    outcomes: list[int | str] = []
    lock = threading.Lock()

    def reader(n: int) -> None:
        with httpx.Client(base_url=service.server.url, timeout=30.0) as client:
            while not stop.is_set():
                user = f"u{(n * 7 + len(outcomes)) % N_USERS:02d}"
                try:
                    status: int | str = client.get(f"/v1/users/{user}/recommendations").status_code
                except httpx.HTTPError as error:
                    status = repr(error)
                with lock:
                    outcomes.append(status)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        same = service.client.post("/admin/reload", json={}, headers=service.auth)
        explicit = service.client.post("/admin/reload", json={"model": str(service.model)}, headers=service.auth)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    for response in (same, explicit):
        assert response.status_code == 200, response.text
        answer = response.json()
        assert isinstance(answer["model"], str) and isinstance(answer["items"], int) and answer["items"] >= 50
    failed = [status for status in outcomes if status != 200]
    assert len(outcomes) >= 20 and not failed, f"{len(failed)} of {len(outcomes)} failed: {failed[:5]}"
    assert "coffee-reload" in service.similar("coffee-07", k=5)
    assert service.client.get("/v1/items/books-13/similar").status_code == 404
    assert all("books-13" not in service.recommend(user, k=20) for user in ("u03", "u07", "cold-after-reload"))
    bad = service.client.post("/admin/reload", json={"model": str(service.model.parent / "missing")},
                              headers=service.auth)  # fmt: skip
    assert 400 <= bad.status_code < 500
    assert service.client.get("/v1/users/u01/recommendations").status_code == 200


def test_events_with_past_timestamps_survive_a_reload(service: Service) -> None:
    """An event may carry a time before the model was fitted; it still counts after a reload or restart."""
    user = "u08"  # buys cameras only
    before = service.recommend(user, k=10, diversity=0)
    bought = before[:3]
    assert service.post_events([event(user, item, "purchase", None, 1_500_000_000.0 + n)
                                for n, item in enumerate(bought)]).status_code == 200  # fmt: skip
    assert not set(bought) & set(service.recommend(user, k=10, diversity=0))
    assert service.client.post("/admin/reload", json={}, headers=service.auth).status_code == 200
    after = service.recommend(user, k=10, diversity=0)
    assert not set(bought) & set(after), f"items with events recommended again after a reload: {after}"


def test_metrics_count_requests(service: Service) -> None:
    first = service.client.get("/metrics")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
    for name in ("prismrec_requests_total", "prismrec_request_seconds_bucket", "prismrec_request_seconds_count",
                 "prismrec_events_ingested_total"):  # fmt: skip
        assert name in first.text, f"{name} missing from /metrics"
    for _ in range(5):
        service.client.get("/v1/users/u11/recommendations")
    second = service.client.get("/metrics").text
    requests, timed = "prismrec_requests_total", "prismrec_request_seconds_count"
    assert metric_total(second, requests) - metric_total(first.text, requests) >= 6
    assert metric_total(second, timed) - metric_total(first.text, timed) >= 6


# ------------------------------------------------------------------ durability


def test_acknowledged_events_survive_sigkill(model_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    key = new_key(db, "kill")
    server = ServerProcess(model_dir, db, tmp_path / "kill.log", SUBPROCESS_ENV).start()
    acknowledged: list[tuple[str, str, float]] = []
    items = list(SHOP.items)
    stop = threading.Event()
    now = time.time()

    def writer() -> None:
        with httpx.Client(base_url=server.url, timeout=10.0, headers={"Authorization": f"Bearer {key}"}) as client:
            for b in range(100_000):
                if stop.is_set():
                    return
                batch = [event(f"kill-{b}", items[(b + i) % len(items)], "click", None, now + i)
                         for i in range(20)]  # fmt: skip
                try:
                    response = client.post("/v1/events", json={"events": batch})
                except httpx.HTTPError:
                    return
                if 200 <= response.status_code < 300:
                    acknowledged.extend((e["user_id"], e["item_id"], e["ts"]) for e in batch)

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 400 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
    assert len(acknowledged) >= 400, "the writer never got going"
    restarted = ServerProcess(model_dir, db, tmp_path / "kill.log", SUBPROCESS_ENV).start()
    try:
        with sqlite3.connect(db, timeout=30.0) as connection:
            rows = set(connection.execute("SELECT user_id, item_id, ts FROM events"))
        lost = [row for row in acknowledged if row not in rows]
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged events lost, e.g. {lost[:3]}"
        last_user = acknowledged[-1][0]
        listed = httpx.get(f"{restarted.url}/v1/users/{last_user}/events", timeout=10.0).json()["events"]
        assert len(listed) == 20
        assert listed[-1]["item_id"] not in [
            e["item_id"] for e in httpx.get(f"{restarted.url}/v1/users/{last_user}/recommendations",
                                            params={"k": 40}, timeout=10.0).json()["items"]
        ]  # fmt: skip
    finally:
        restarted.stop()


# ------------------------------------------------------------------ logs (last: sees every request)


def test_server_logs_only_json_lines(service: Service) -> None:
    """Runs last: every line the shared server wrote to stderr during the module is a JSON object."""
    service.client.get("/v1/users/u01/recommendations")
    time.sleep(0.2)
    lines = [line for line in service.server.log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines, "no log lines on stderr"
    for line in lines:
        assert isinstance(json.loads(line), dict), f"not a JSON log line: {line!r}"
