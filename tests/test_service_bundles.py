"""`GET /v1/users/{user_id}/bundles`: the real `prismrec serve` on a folder written by `prismrec bundles fit`.

A module fixture fits BundleRec-Electronic (popularity for items, TF-IDF item vectors, the fused bundle scorer
with some text weight) with the real command and serves it; a second server serves a pipeline without bundles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from test_service import SUBPROCESS_ENV, new_key, prismrec

from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import save_pipeline
from prismrec.data.registry import load_dataset
from prismrec.data.schema import Dataset
from prismrec.serving.process import ServerProcess

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "bundles-tfidf.toml"


@dataclass(frozen=True)
class BundleService:
    client: httpx.Client
    key: str
    model: Path
    data: Dataset

    def owned(self, user_id: str) -> set[str]:
        """The bundle ids the user has in the dataset."""
        bundles = self.data.bundles
        assert bundles is not None
        user = self.data.interactions.user_ids.index(user_id)
        pairs = bundles.user_bundles["all"]
        return {str(bundles.bundle_ids.ids[b]) for b in pairs[pairs[:, 0] == user, 1]}

    def busiest_user(self) -> str:
        """The user with the most bundles."""
        assert self.data.bundles is not None
        users, counts = np.unique(self.data.bundles.user_bundles["all"][:, 0], return_counts=True)
        return str(self.data.interactions.user_ids.ids[users[np.argmax(counts)]])


@pytest.fixture(scope="module")
def electronic() -> Dataset:
    return load_dataset("bundlerec-electronic")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, electronic: Dataset) -> Iterator[BundleService]:
    folder = tmp_path_factory.mktemp("bundles")
    config = CONFIG
    prismrec("bundles", "fit", "--dataset", "bundlerec-electronic", "--config", config, "--out", folder / "model")
    db = folder / "service.db"
    key = new_key(db)
    server = ServerProcess(folder / "model", db, folder / "server.log", SUBPROCESS_ENV).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            yield BundleService(client, key, folder / "model", electronic)
    finally:
        server.stop()


def test_bundles_for_a_user(service: BundleService) -> None:
    user = service.busiest_user()
    response = service.client.get(f"/v1/users/{user}/bundles", params={"k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user_id", "bundles"} and body["user_id"] == user
    found = body["bundles"]
    assert len(found) == 3 and not {entry["bundle_id"] for entry in found} & service.owned(user)
    assert [entry["score"] for entry in found] == sorted((entry["score"] for entry in found), reverse=True)
    bundles, catalog = service.data.bundles, service.data.catalog
    assert bundles is not None
    for entry in found:
        assert set(entry) == {"bundle_id", "name", "score", "items", "reason"} and entry["reason"]
        bundle = bundles.bundle_ids.index(entry["bundle_id"])
        assert entry["name"] == bundles.names[bundle]
        assert entry["items"] == [{"item_id": str(catalog.item_ids.ids[i]), "title": catalog.title(i)}
                                  for i in bundles.membership[bundle].indices]  # fmt: skip
    # the command line prints the same rows
    printed = prismrec("bundles", "recommend", "--model", service.model, "--user", user, "-k", "3", "--json")
    assert json.loads(printed) == found
    assert len(service.client.get(f"/v1/users/{user}/bundles").json()["bundles"]) == 10, "default k is 10"


def test_unknown_user_gets_the_most_taken_bundles_and_bad_k(service: BundleService) -> None:
    bundles, catalog = service.data.bundles, service.data.catalog
    assert bundles is not None
    takers = np.bincount(bundles.user_bundles["all"][:, 1], minlength=len(bundles.bundle_ids))
    for k in (3, None):
        response = service.client.get("/v1/users/no-such-user/bundles", params={} if k is None else {"k": k})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"user_id", "bundles"} and body["user_id"] == "no-such-user"
        found = body["bundles"]
        assert len(found) == (k or 10), "default k is 10"
        assert len({entry["bundle_id"] for entry in found}) == len(found)
        counts = [int(takers[bundles.bundle_ids.index(entry["bundle_id"])]) for entry in found]
        assert counts == sorted(takers.tolist(), reverse=True)[: len(found)], "not the most taken bundles"
        for entry, count in zip(found, counts, strict=True):
            assert set(entry) == {"bundle_id", "name", "score", "items", "reason"}
            assert entry["reason"] == f"taken by {count} {'person' if count == 1 else 'people'}"
            bundle = bundles.bundle_ids.index(entry["bundle_id"])
            assert entry["items"] == [{"item_id": str(catalog.item_ids.ids[i]), "title": catalog.title(i)}
                                      for i in bundles.membership[bundle].indices]  # fmt: skip
    user = service.busiest_user()
    for who in (user, "no-such-user"):
        for k in (0, 101):
            bad = service.client.get(f"/v1/users/{who}/bundles", params={"k": k})
            assert bad.status_code == 422 and "k" in bad.json()["detail"][0]["loc"], bad.text


def test_api_key_rule_is_that_of_recommendations(service: BundleService) -> None:
    user = service.busiest_user()
    for path in (f"/v1/users/{user}/bundles", f"/v1/users/{user}/recommendations"):
        assert service.client.get(path, headers={"Authorization": f"Bearer {service.key}"}).status_code == 200
        assert service.client.get(path, headers={"Authorization": "Bearer not-a-key"}).status_code == 403
        assert service.client.get(path, headers={"Authorization": "Basic abc"}).status_code == 403
    assert "/v1/users/{user_id}/bundles" in service.client.get("/openapi.json").json()["paths"]


def test_generate_from_items_user_and_intent(service: BundleService) -> None:
    catalog = service.data.catalog
    seed = str(catalog.item_ids.ids[service.data.bundles.membership[0].indices[0]])
    user = service.busiest_user()
    for body in ({"item_ids": [seed], "k": 3}, {"user_id": user, "k": 3, "max_per_category": 0},
                 {"intent": "home office setup", "k": 3, "diversity": 0.0}):  # fmt: skip
        response = service.client.post("/v1/bundles/generate", json=body)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert len(items) == 3 and all(set(item) == {"item_id", "title", "score", "reason"} for item in items)
        assert all(item["reason"] and item["title"] == catalog.title(catalog.item_ids.index(item["item_id"]))
                   for item in items)  # fmt: skip
        assert seed not in {item["item_id"] for item in items} or "item_ids" not in body
        printed = prismrec("bundles", "generate", "--model", service.model, "-k", "3", "--json",
                           *(["--item", seed] if "item_ids" in body else ["--user", user] if "user_id" in body
                             else ["--intent", "home office setup"]),
                           *(["--param", "max_per_category=0"] if "max_per_category" in body else []),
                           *(["--param", "diversity=0"] if "diversity" in body else []))  # fmt: skip
        assert json.loads(printed) == items, "the command line composes the same bundle"


def test_generate_rejects_bad_requests(service: BundleService) -> None:
    post = service.client.post
    assert post("/v1/bundles/generate", json={"k": 3}).status_code == 422  # no seed, user or intent
    assert post("/v1/bundles/generate", json={"intent": "x", "user_id": service.busiest_user()}).status_code == 422
    assert post("/v1/bundles/generate", json={"intent": "x", "k": 0}).status_code == 422
    missing = post("/v1/bundles/generate", json={"item_ids": ["no-such-item"]})
    assert missing.status_code == 404 and "no-such-item" in missing.json()["detail"][0]["msg"], missing.text
    assert "item_ids" in missing.json()["detail"][0]["loc"], missing.text
    for body, field in (({"intent": "   "}, "intent"), ({"intent": ""}, "intent"), ({"item_ids": []}, "item_ids")):
        blank = post("/v1/bundles/generate", json=body)
        assert blank.status_code == 422 and field in blank.json()["detail"][0]["loc"], (body, blank.text)


def test_a_model_without_bundles_says_how_to_fit_them(tmp_path: Path, electronic: Dataset) -> None:
    model = PipelineConfig.for_model("most-popular").fit(electronic.interactions, electronic.catalog)
    folder = save_pipeline(model, tmp_path / "plain")
    server = ServerProcess(folder, tmp_path / "service.db", tmp_path / "server.log", SUBPROCESS_ENV).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            user = str(electronic.interactions.user_ids.ids[0])
            response = client.get(f"/v1/users/{user}/bundles")
            assert response.status_code == 404
            assert set(response.json()) == {"detail"} and "prismrec bundles fit" in response.json()["detail"]
            generated = client.post("/v1/bundles/generate", json={"intent": "gaming"})
            assert generated.status_code == 404 and "prismrec bundles fit" in generated.json()["detail"]
            assert client.get(f"/v1/users/{user}/recommendations").status_code == 200
    finally:
        server.stop()


def test_events_change_the_next_bundle_answer(service: BundleService) -> None:
    """A purchase posted as an event counts at once: the next bundles answer reads the user's new items, and a
    user known only from events gets a generated bundle built around what they bought."""
    auth = {"Authorization": f"Bearer {service.key}"}
    data, bundles = service.data, service.data.bundles
    assert bundles is not None
    user_ids = data.interactions.user_ids.ids
    user = str(user_ids[len(user_ids) // 2])
    before = service.client.get(f"/v1/users/{user}/bundles", params={"k": 100}).json()["bundles"]
    mine = set(data.interactions.matrix()[data.interactions.user_ids.index(user)].indices.tolist())
    target = next(b for b in range(len(bundles)) if str(bundles.bundle_ids.ids[b]) not in service.owned(user)
                  and not mine & set(bundles.membership[b].indices.tolist())
                  and bundles.membership[b].nnz >= 3)  # fmt: skip
    bought = [str(data.catalog.item_ids.ids[i]) for i in bundles.membership[target].indices[:2]]
    events = [{"user_id": user, "item_id": item, "type": "purchase"} for item in bought]
    assert service.client.post("/v1/events", json={"events": events}, headers=auth).status_code == 200
    after = service.client.get(f"/v1/users/{user}/bundles", params={"k": 100}).json()["bundles"]

    def holding(answer: list[dict]) -> list[dict]:
        return [entry for entry in answer if set(bought) & {item["item_id"] for item in entry["items"]}]

    assert len(holding(after)) > len(holding(before)), "bundles with the bought items move up at once"
    titles = {data.catalog.title(data.catalog.item_ids.index(item)) for item in bought}
    assert all(any(f"has “{title}” you have" in entry["reason"] for title in titles) for entry in holding(after))
    newcomer = [{"user_id": "event-only-user", "item_id": item, "type": "purchase"} for item in bought]
    assert service.client.post("/v1/events", json={"events": newcomer}, headers=auth).status_code == 200
    generated = service.client.post("/v1/bundles/generate", json={"user_id": "event-only-user", "k": 3})
    assert generated.status_code == 200, generated.text
    items = generated.json()["items"]
    assert len(items) == 3 and not set(bought) & {item["item_id"] for item in items}
    assert all("you bought" in item["reason"] for item in items)
    cold = service.client.get("/v1/users/event-only-user/bundles", params={"k": 3})
    assert cold.status_code == 200, cold.text
    first = cold.json()["bundles"]
    assert len(first) == 3 and holding(first) == first[: len(holding(first))] and holding(first)
    assert all(any(f"has “{title}” you have" in entry["reason"] for title in titles) for entry in holding(first))
    nobody = service.client.post("/v1/bundles/generate", json={"user_id": "nobody-at-all", "k": 3})
    assert nobody.status_code == 404 and "nobody-at-all" in nobody.json()["detail"][0]["msg"], nobody.text
    assert "user_id" in nobody.json()["detail"][0]["loc"], nobody.text


def test_deleted_and_added_items_in_bundles(service: BundleService) -> None:
    """A deleted item never comes back (not in generated bundles, no recommended bundle holds it); an item
    added through the service can be composed into a bundle by its meaning."""
    auth = {"Authorization": f"Bearer {service.key}"}
    user = service.busiest_user()
    shown = service.client.get(f"/v1/users/{user}/bundles", params={"k": 3}).json()["bundles"]
    gone = shown[0]["items"][0]["item_id"]
    seed = str(service.data.catalog.item_ids.ids[service.data.bundles.membership[0].indices[0]])
    generated = service.client.post("/v1/bundles/generate", json={"item_ids": [seed], "k": 4}).json()["items"]
    also_gone = generated[0]["item_id"]
    for item in (gone, also_gone):
        assert service.client.delete(f"/v1/items/{item}", headers=auth).status_code == 200
    try:
        again = service.client.get(f"/v1/users/{user}/bundles", params={"k": 10}).json()["bundles"]
        assert not {gone, also_gone} & {i["item_id"] for entry in again for i in entry["items"]}
        assert shown[0]["bundle_id"] not in {entry["bundle_id"] for entry in again}
        cold = service.client.get("/v1/users/no-such-user/bundles", params={"k": 10})
        assert cold.status_code == 200 and len(cold.json()["bundles"]) == 10, cold.text
        assert not {gone, also_gone} & {i["item_id"] for entry in cold.json()["bundles"] for i in entry["items"]}
        regenerated = service.client.post("/v1/bundles/generate", json={"item_ids": [seed], "k": 4}).json()["items"]
        assert len(regenerated) == 4 and not {gone, also_gone} & {item["item_id"] for item in regenerated}
        new_item = {"title": "Espresso tamper for home baristas", "categories": ["Coffee tampers"]}
        assert service.client.put("/v1/items/new-tamper", json=new_item, headers=auth).status_code in (200, 201)
        found = service.client.post("/v1/bundles/generate", json={"intent": "espresso tamper", "k": 4}).json()
        assert "new-tamper" in {item["item_id"] for item in found["items"]}
    finally:
        service.client.delete("/v1/items/new-tamper", headers=auth)
