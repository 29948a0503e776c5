"""`GET /v1/search` and `prismrec search` on the shop of tests/test_service.py (real server, real CLI)."""

from __future__ import annotations

import json

from test_service import SHOP, THEMES, Service, model_dir, service  # noqa: F401  (module fixtures: a real server)
from typer.testing import CliRunner

from prismrec.cli import app


def theme_words(theme: str) -> str:
    return " ".join(THEMES[theme]["nouns"][:2])


def test_search_endpoint_returns_the_querys_theme(service: Service) -> None:  # noqa: F811
    for theme in THEMES:
        response = service.client.get("/v1/search", params={"q": theme_words(theme), "k": 5})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["query"] == theme_words(theme) and len(body["items"]) == 5
        assert all(SHOP.theme_of(hit["item_id"]) == theme for hit in body["items"]), (theme, body)
        assert all(hit["reason"] for hit in body["items"])


def test_search_validation_and_deleted_items(service: Service) -> None:  # noqa: F811
    assert service.client.get("/v1/search", params={"q": ""}).status_code == 422
    assert service.client.get("/v1/search", params={"q": "x", "k": 0}).status_code == 422
    theme = next(iter(THEMES))
    first = service.client.get("/v1/search", params={"q": theme_words(theme), "k": 1}).json()["items"][0]["item_id"]
    assert service.client.delete(f"/v1/items/{first}", headers=service.auth).status_code == 200
    again = service.client.get("/v1/search", params={"q": theme_words(theme), "k": 15}).json()["items"]
    assert first not in [hit["item_id"] for hit in again]


def test_search_command_json(service: Service) -> None:  # noqa: F811
    theme = list(THEMES)[1]
    result = CliRunner().invoke(app, ["search", theme_words(theme), "--model", str(service.model), "-k", "4",
                                      "--user", "u01", "--diversity", "0.3", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4 and set(rows[0]) == {"item_id", "title", "score", "reason"}
    assert sum(SHOP.theme_of(row["item_id"]) == theme for row in rows) >= 3
