"""Bad input to every endpoint of the real server: never a 5xx, never a dropped connection, and every 4xx
names the field at fault.

A module fixture fits a small bundle model in-process (BundleRec-Electronic, configs/bundles-tfidf.toml:
popularity, TF-IDF item vectors, fused bundle scorer), creates one API key and serves the folder with the
real `prismrec serve` (uvicorn over loopback). The corpus is sent as raw HTTP: query strings and paths are
percent-encoded by hand (so bytes that are not UTF-8 arrive as such) and JSON bodies are written as text
(so `1e400`, `NaN`, lone surrogates and bytes that are not UTF-8 reach the server). Each case is one test.

For each case: the status is below 500, the connection stays up, a 2xx answer is JSON, and a 4xx answer is
JSON whose `detail` names the query parameter, path parameter, body field or header at fault (in an entry's
`loc`, or as a word of its message). Cases whose path has an empty segment match no route: a plain JSON 404.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from test_service import SUBPROCESS_ENV

from prismrec.bundles.pipeline_bundles import PipelineBundles
from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import save_pipeline
from prismrec.data.registry import load_dataset
from prismrec.serving.process import ServerProcess
from prismrec.serving.store import Store

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "bundles-tfidf.toml"
USER = "0"  # a user of bundlerec-electronic
ITEM = "100033"  # an item of bundlerec-electronic
ROUTE = "route"  # a case whose path matches no route (an empty path segment)
KEY = "<key>"  # stands for the fixture's API key in a case's Authorization header
AUTH = f"Bearer {KEY}"
LONG = "x" * 10_000


# ------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Call:
    """One raw HTTP request: `target` is the percent-encoded path and query; `body` the exact bytes."""

    method: str
    target: str
    body: bytes | None = None
    content_type: str | bytes | None = "application/json"
    authorization: str | bytes | None = AUTH
    fields: tuple[str, ...] = ()  # a 4xx must name one of these (ROUTE: a plain 404 of no route)
    status: tuple[int, ...] = ()  # when given, the status must be one of these


@dataclass(frozen=True)
class Case:
    id: str
    calls: tuple[Call, ...] = field(default_factory=tuple)


# Strings every text field, path and query parameter gets (as text; percent-encoded or JSON-escaped when sent).
STRINGS: dict[str, str] = {
    "empty": "",
    "space": " ",
    "spaces": "   ",
    "tab": "\t",
    "newline": "\n",
    "nul": "\x00",
    "nul-after-id": "ID\x00",
    "long": LONG,
    "rlm": "\u200f",
    "rlo": "\u202e",
    "rlo-around-id": "\u202eID\u202c",
    "rlm-after-id": "ID\u200f",
    "bom": "\ufeff",
    "zero-width": "\u200b",
    "unknown-id": "no-such-id",
    "percent": "%",
    "quote": "'\"",
}
# Bytes that are not UTF-8, percent-encoded into paths and queries.
BYTES: dict[str, bytes] = {"ff": b"\xff", "c3-28": b"\xc3\x28", "surrogate": b"\xed\xa0\x80", "latin1": b"caf\xe9"}
# Values of numeric query parameters, already percent-encoded.
QUERY_NUMBERS: dict[str, str] = {
    "minus-one": "-1", "zero": "0", "minus-huge": "-1000000", "over-max": "101", "huge": "1" + "0" * 30,
    "minus-10e30": "-1" + "0" * 30, "5000-digits": "1" + "0" * 5000, "1e400": "1e400", "-1e400": "-1e400",
    "inf": "inf", "minus-inf": "-inf", "nan": "nan", "NaN": "NaN", "Infinity": "Infinity", "fraction": "1.5",
    "hex": "0x10", "empty": "", "space": "%20", "padded": "%205%20", "tab": "%09", "nul": "%00", "one-nul": "1%00",
    "ff": "%FF", "arabic-digit": quote("٣"), "fullwidth-digit": quote("５"), "underscore": "1_0", "plus": "%2B5",
    "long": LONG, "word": "ten", "bad-escape": "%zz",
}  # fmt: skip
# JSON texts for numeric body fields (written by hand: Python's json writes none of inf, NaN, 1e400).
JSON_NUMBERS: dict[str, str] = {
    "minus-one": "-1", "zero": "0", "1e400": "1e400", "-1e400": "-1e400", "NaN": "NaN", "Infinity": "Infinity",
    "-Infinity": "-Infinity", "1e308": "1e308", "-1e308": "-1e308", "10e30": "1" + "0" * 30,
    "-10e30": "-1" + "0" * 30, "5000-digits": "1" + "0" * 5000, "fraction": "1.5", "1e-400": "1e-400",
    "denormal": "5e-324", "tiny": "1e-17", "string-number": '"5"', "string": '"abc"', "empty-string": '""',
    "null": "null", "true": "true", "list": "[1]", "object": "{}", "two-point-zero": "2.0",
}  # fmt: skip
# JSON texts of the wrong type for a string field.
JSON_NOT_STRINGS: dict[str, str] = {
    "null": "null", "number": "1", "1e400": "1e400", "NaN": "NaN", "10e30": "1" + "0" * 30, "true": "true",
    "list": '["x"]', "empty-list": "[]", "object": '{"a": 1}',
}  # fmt: skip
# JSON string literals that Python's json cannot write, or bytes that are not UTF-8 inside a JSON string.
JSON_RAW_STRINGS: dict[str, bytes] = {
    "lone-surrogate": b'"\\ud800"', "low-surrogate": b'"\\udfff"', "escaped-nul": b'"\\u0000"',
    "raw-ff": b'"\xff"', "raw-c3-28": b'"\xc3\x28"', "raw-surrogate": b'"\xed\xa0\x80"', "raw-nul": b'"\x00"',
    "raw-tab": b'"\t"', "raw-newline": b'"a\nb"',
}  # fmt: skip
# The raw strings above that a JSON text cannot carry as text (lone surrogates, bytes that are not UTF-8, raw
# control characters): every body field refuses them with a 4xx.
NOT_TEXT = {"lone-surrogate", "low-surrogate", "raw-ff", "raw-c3-28", "raw-surrogate", "raw-nul", "raw-tab",
            "raw-newline"}  # fmt: skip


def json_text(value: str) -> bytes:
    return json.dumps(value).encode()


def string_values(known: str) -> Iterator[tuple[str, str]]:
    for name, value in STRINGS.items():
        yield name, value.replace("ID", known)


def encoded_values(known: str) -> Iterator[tuple[str, str]]:
    """(name, percent-encoded text) for every string and byte string of the corpus."""
    for name, value in string_values(known):
        yield name, quote(value, safe="")
    for name, raw in BYTES.items():
        yield f"bytes-{name}", quote(raw, safe="")


def json_string_values(known: str) -> Iterator[tuple[str, bytes]]:
    """(name, JSON text) of every string, wrong type and raw string literal for a string field."""
    for name, value in string_values(known):
        yield name, json_text(value)
    for name, text in JSON_NOT_STRINGS.items():
        yield f"type-{name}", text.encode()
    for name, raw in JSON_RAW_STRINGS.items():
        yield name, raw


def blame(name: str, value_name: str) -> dict[str, Any]:
    """What a case about body field `name` set to the corpus value `value_name` expects: the fields its 4xx may
    name and, for the strings of NOT_TEXT, a 4xx at all. Values that make the body unreadable as JSON
    (raw control characters or bytes that are not UTF-8 in a string, integers of thousands of digits) can only
    be blamed on the body."""
    unreadable = value_name.startswith("raw-") or value_name == "5000-digits"
    status = (400, 422) if value_name in NOT_TEXT else ()
    return {"fields": (name, "body") if unreadable else (name,), "status": status}


def template(fields: dict[str, bytes]) -> bytes:
    return b"{" + b", ".join(json_text(k) + b": " + v for k, v in fields.items()) + b"}"


GETS: list[tuple[str, str, str | None, dict[str, str]]] = [
    # (name, path with {id}, path parameter, {query parameter: kind})
    ("recommendations", "/v1/users/{id}/recommendations", "user_id",
     {"k": "int", "diversity": "float", "reranker": "str", "exclude": "list", "category": "str", "explain": "bool"}),
    ("bundles", "/v1/users/{id}/bundles", "user_id", {"k": "int"}),
    ("similar", "/v1/items/{id}/similar", "item_id", {"k": "int", "diversity": "float"}),
    ("search", "/v1/search", None,
     {"q": "str", "user_id": "str", "k": "int", "diversity": "float", "category": "str"}),
    ("user-events", "/v1/users/{id}/events", "user_id", {"limit": "int"}),
]  # fmt: skip
QUERY_EXTRAS: dict[str, dict[str, str]] = {
    "bool": {"maybe": "maybe", "two": "2", "yes-no": "yes%2Cno", "upper": "TRUE"},
    "list": {"commas": "%2C%2C%2C", "duplicates": f"{ITEM}%2C{ITEM}%2C{ITEM}", "spaces-commas": "%20%2C%20%2C%20",
             "many": "%2C".join([ITEM] * 2000)},
    "str": {"repeated": "a&{name}=b"},
}  # fmt: skip
BASE_QUERY = {"search": "q=usb"}  # the required parameters of an endpoint, when the case is about another one


def get_cases() -> Iterator[Case]:
    for name, path, path_field, params in GETS:
        known = USER if path_field == "user_id" else ITEM
        base = BASE_QUERY.get(name)
        for auth_name, auth in (("anonymous", None), ("key", AUTH)):
            for param, kind in params.items():
                values = dict(encoded_values(ITEM if param == "exclude" else USER if param == "user_id" else "usb"))
                if kind in ("int", "float"):
                    values = dict(QUERY_NUMBERS)
                    if kind == "float":
                        values |= {"just-over-one": "1.0000001", "minus-zero": "-0.0", "1e-400": "1e-400",
                                   "denormal": "5e-324", "tiny": "1e-17"}  # fmt: skip
                values |= {k: v.format(name=param) for k, v in QUERY_EXTRAS.get(kind, {}).items()}
                for value_name, value in values.items():
                    query = f"{param}={value}" + (f"&{base}" if base and param != "q" else "")
                    target = path.replace("{id}", quote(known, safe="")) + "?" + query
                    yield Case(f"GET-{name}-{param}-{value_name}-{auth_name}",
                               (Call("GET", target, authorization=auth, fields=(param,)),))  # fmt: skip
            if path_field is not None:
                for value_name, value in encoded_values(known):
                    target = path.replace("{id}", value) + (f"?{base}" if base else "")
                    fields = (ROUTE,) if value == "" else (path_field,)
                    yield Case(f"GET-{name}-path-{value_name}-{auth_name}",
                               (Call("GET", target, authorization=auth, fields=fields),))  # fmt: skip
            if name == "search":
                yield Case(f"GET-search-no-q-{auth_name}", (Call("GET", "/v1/search", authorization=auth,
                                                                 fields=("q",), status=(422,)),))  # fmt: skip
        target = path.replace("{id}", quote(known, safe="")) + (f"?{base}" if base else "")
        for header_name, header in HEADERS.items():
            yield Case(f"GET-{name}-authorization-{header_name}",
                       (Call("GET", target, authorization=header, fields=("authorization",)),))  # fmt: skip


HEADERS: dict[str, str | bytes] = {
    "empty": "", "bearer-only": "Bearer", "bearer-nbsp": b"Bearer \xc2\xa0", "spaces-before-key": f"Bearer   {KEY}",
    "tab-in-key": f"Bearer \t{KEY}", "basic": "Basic abc", "unknown-key": "Bearer not-a-key",
    "long-key": f"Bearer {LONG}", "rlm-key": "Bearer \u200f".encode(), "ff-key": b"Bearer \xff\xfe",
    "lowercase-unknown": "bearer nope", "key-twice": f"Bearer {KEY} {KEY}",
}  # fmt: skip


KEY_HEADERS = {"spaces-before-key", "tab-in-key"}  # the real key after odd whitespace: accepted


def event_body(**values: bytes) -> bytes:
    fields = {"user_id": json_text("bad-input-user"), "item_id": json_text(ITEM), "type": b'"view"'} | values
    return b'{"events": [' + template(fields) + b"]}"


def post_event_cases() -> Iterator[Case]:
    def post(case: str, body: bytes, fields: tuple[str, ...], status: tuple[int, ...] = (),
             content_type: str | bytes | None = "application/json") -> Case:  # fmt: skip
        return Case(f"POST-events-{case}", (Call("POST", "/v1/events", body, content_type, fields=fields,
                                                 status=status),))  # fmt: skip

    for name in ("user_id", "item_id", "type"):
        known = {"user_id": "bad-input-user", "item_id": ITEM, "type": "view"}[name]
        for value_name, value in json_string_values(known):
            yield post(f"{name}-{value_name}", event_body(**{name: value}), **blame(name, value_name))
    yield post("type-upper", event_body(type=b'"VIEW"'), ("type",), (422,))
    for name in ("value", "ts"):
        for value_name, value in JSON_NUMBERS.items():
            yield post(f"{name}-{value_name}", event_body(**{name: value.encode(), "type": b'"rating"'}),
                       **blame(name, value_name))  # fmt: skip
    yield post("known-ts-1e400", event_body(ts=b"1e400"), ("ts",), (422,))  # an overflowing time: 422, not a 500
    yield post("ts-negative", event_body(ts=b"-5"), ("ts",), (422,))
    yield post("missing-user", b'{"events": [{"item_id": "%s", "type": "view"}]}' % ITEM.encode(), ("user_id",),
               (422,))  # fmt: skip
    yield post("extra-field", event_body(pad=b'"x"'), ("pad",), (422,))
    one = event_body()[len(b'{"events": [') : -2]
    for name, events in {"null": b"null", "string": b'"x"', "object": b"{}", "number": b"1e400", "empty": b"[]",
                         "null-event": b"[null]", "number-event": b"[1]", "list-event": b"[[]]",
                         "string-event": b'["view"]', "duplicates": b"[" + b", ".join([one] * 3) + b"]",
                         "1001": b"[" + b", ".join([one] * 1001) + b"]"}.items():  # fmt: skip
        yield post(f"events-{name}", b'{"events": ' + events + b"}", ("events",))
    for name, body in BODIES.items():
        yield post(f"body-{name}", body, ("body",))
    for name, content_type in CONTENT_TYPES.items():
        yield post(f"content-type-{name}", event_body(), ("body",), content_type=content_type)
    yield post("latin1-charset", event_body(user_id=b'"caf\xe9"'), ("body", "user_id"),
               content_type="application/json; charset=latin-1")  # fmt: skip


BODIES: dict[str, bytes] = {
    "empty": b"", "space": b" ", "nul": b"\x00", "null": b"null", "list": b"[]", "string": b'"x"', "number": b"1e400",
    "NaN": b"NaN", "truncated": b'{"events": [', "trailing-comma": b'{"events": [],}', "single-quotes": b"{'a': 1}",
    "ff": b"\xff\xfe", "utf16": '{"events": []}'.encode("utf-16"), "bom": b"\xef\xbb\xbf{}",
    "deep": b"[" * 50_000 + b"]" * 50_000, "deep-object": b'{"a": ' * 20_000 + b"1" + b"}" * 20_000,
    "long-garbage": LONG.encode(), "nul-inside": b'{"a"\x00: 1}',
}  # fmt: skip
CONTENT_TYPES: dict[str, str | bytes | None] = {
    "none": None, "text": "text/plain", "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=xyz", "xml": "application/xml", "garbage": b"a/b; charset=\xff;;=",
    "empty": "", "json-suffix": "application/vnd.x+json", "long": "application/" + LONG,
}  # fmt: skip


def generate_cases() -> Iterator[Case]:
    def post(case: str, body: bytes, fields: tuple[str, ...], status: tuple[int, ...] = (),
             content_type: str | bytes | None = "application/json") -> Case:  # fmt: skip
        return Case(f"POST-generate-{case}", (Call("POST", "/v1/bundles/generate", body, content_type, AUTH, fields,
                                                   status),))  # fmt: skip

    seeds = {"item_ids": json_text(ITEM).join([b"[", b"]"]), "user_id": json_text(USER), "intent": b'"usb cable"'}
    # Blank seeds: a 4xx naming the field, never a 500 or a reset connection.
    yield post("known-intent-spaces", b'{"intent": "   "}', ("intent",), (422,))
    yield post("known-item-ids-spaces", b'{"item_ids": ["   "]}', ("item_ids",), (404, 422))
    yield post("known-item-ids-empty", b'{"item_ids": []}', ("item_ids",), (422,))
    yield post("known-intent-empty", b'{"intent": ""}', ("intent",), (422,))
    for name in ("user_id", "intent"):
        for value_name, value in json_string_values(USER if name == "user_id" else "usb cable"):
            yield post(f"{name}-{value_name}", template({name: value}), **blame(name, value_name))
    for value_name, value in json_string_values(ITEM):
        yield post(f"item_ids-item-{value_name}", template({"item_ids": b"[" + value + b"]"}),
                   **blame("item_ids", value_name))  # fmt: skip
    for value_name, value in {**{f"type-{k}": v.encode() for k, v in JSON_NOT_STRINGS.items()},
                              "string": json_text(ITEM), "duplicates": b"[" + b", ".join([json_text(ITEM)] * 3) + b"]",
                              "51": b"[" + b", ".join([json_text(ITEM)] * 51) + b"]",
                              "nested": b"[[" + json_text(ITEM) + b"]]"}.items():  # fmt: skip
        yield post(f"item_ids-{value_name}", template({"item_ids": value}), ("item_ids",))
    for name in ("k", "max_per_category", "substitute_similarity", "diversity", "budget"):
        for seed, seed_value in seeds.items():
            for value_name, value in JSON_NUMBERS.items():
                if seed != "intent" and value_name not in ("1e400", "NaN", "10e30", "-1e400", "minus-one"):
                    continue  # every value from an intent, the worst ones from items and a user too
                yield post(f"{name}-{value_name}-from-{seed}", template({seed: seed_value, name: value.encode()}),
                           **blame(name, value_name))  # fmt: skip
    for name, body in {"none": b"{}", "two": b'{"intent": "usb", "item_ids": ["%s"]}' % ITEM.encode(),
                       "all-null": b'{"intent": null, "item_ids": null, "user_id": null}',
                       "duplicate-keys": b'{"intent": "usb", "intent": "   "}'}.items():  # fmt: skip
        yield post(f"seeds-{name}", body, ("item_ids", "user_id", "intent", "body"))
    yield post("unknown-field", b'{"intent": "usb", "colour": "red"}', ("colour",), (422,))
    yield post("misspelt-field", b'{"intent": "usb", "max_per_categroy": 0}', ("max_per_categroy",), (422,))
    for name, body in BODIES.items():
        yield post(f"body-{name}", body, ("body", "item_ids", "user_id", "intent"))
    for name, content_type in CONTENT_TYPES.items():
        yield post(f"content-type-{name}", seeds["intent"].join([b'{"intent": ', b"}"]), ("body",),
                   content_type=content_type)  # fmt: skip
    for header_name, header in HEADERS.items():
        yield Case(f"POST-generate-authorization-{header_name}",
                   (Call("POST", "/v1/bundles/generate", b'{"intent": "usb"}', authorization=header,
                         fields=("authorization",)),))  # fmt: skip


def item_cases() -> Iterator[Case]:
    n = iter(range(1_000_000))

    def put(case: str, body: bytes, fields: tuple[str, ...], item: str | None = None,
            status: tuple[int, ...] = (), content_type: str | bytes | None = "application/json") -> Case:  # fmt: skip
        target = f"/v1/items/{item if item is not None else f'bad-input-item-{next(n)}'}"
        return Case(f"PUT-item-{case}", (Call("PUT", target, body, content_type, fields=fields, status=status),))

    for name in ("title", "description"):
        for value_name, value in json_string_values("usb cable"):
            body = template({"title": b'"usb cable"', name: value})
            yield put(f"{name}-{value_name}", body, **blame(name, value_name))
    for value_name, value in json_string_values("Cables"):
        yield put(f"categories-item-{value_name}", template({"title": b'"usb"', "categories": b"[" + value + b"]"}),
                  **blame("categories", value_name))  # fmt: skip
    wrong = {**{f"type-{k}": v.encode() for k, v in JSON_NOT_STRINGS.items()}, "string": b'"Cables"',
             "duplicates": b'["Cables", "Cables", "Cables"]', "101": b"[" + b", ".join([b'"c"'] * 101) + b"]",
             "nested": b'[["Cables"]]'}  # fmt: skip
    for value_name, value in wrong.items():
        yield put(f"categories-{value_name}", template({"title": b'"usb"', "categories": value}), ("categories",))
    for value_name in ("1e400", "-1e400", "NaN", "Infinity"):  # numbers where text belongs: 422, not a 500
        for name in ("title", "description"):
            yield put(f"{name}-number-{value_name}", template({name: JSON_NUMBERS.get(value_name, value_name).encode(),
                                                              **({} if name == "title" else {"title": b'"t"'})}),
                      (name,), status=(422,))  # fmt: skip
        yield put(f"categories-number-{value_name}", template({"title": b'"t"', "categories": b"[%s]" % (
            JSON_NUMBERS.get(value_name, value_name).encode())}), ("categories",), status=(422,))  # fmt: skip
    yield put("missing-title", b'{"description": "no title"}', ("title",), status=(422,))
    yield put("extra-field", b'{"title": "t", "price": 1e400}', ("price",), status=(422,))
    for value_name, value in encoded_values("bad-input-path"):
        yield put(f"path-{value_name}", b'{"title": "usb cable"}', (ROUTE,) if value == "" else ("item_id",),
                  item=value)  # fmt: skip
    for name, body in BODIES.items():
        yield put(f"body-{name}", body, ("body",))
    for name, content_type in CONTENT_TYPES.items():
        yield put(f"content-type-{name}", b'{"title": "usb"}', ("body",), content_type=content_type)
    for value_name, value in encoded_values(ITEM):
        fields = (ROUTE,) if value == "" else ("item_id",)
        yield Case(f"DELETE-item-path-{value_name}", (Call("DELETE", f"/v1/items/{value}", fields=fields),))


def reload_cases() -> Iterator[Case]:
    def post(case: str, body: bytes | None, fields: tuple[str, ...], status: tuple[int, ...] = (),
             content_type: str | bytes | None = "application/json") -> Case:  # fmt: skip
        return Case(f"POST-reload-{case}", (Call("POST", "/admin/reload", body, content_type, fields=fields,
                                                 status=status),))  # fmt: skip

    for value_name, value in json_string_values("/no/such/folder"):
        yield post(f"model-{value_name}", template({"model": value}), **blame("model", value_name))
    for value_name in ("1e400", "-1e400", "NaN", "Infinity", "10e30"):  # numbers for the folder: 422, not a 500
        yield post(f"model-number-{value_name}", template({"model": JSON_NUMBERS.get(value_name, "Infinity")
                                                          .encode()}), ("model",), (422,))  # fmt: skip
    for name, path in {"file": "/etc/hostname", "root": "/", "dev-null": "/dev/null", "proc": "/proc/self",
                       "relative": "..", "home": "~", "missing": "/tmp/no-such-prismrec-model"}.items():  # fmt: skip
        yield post(f"model-{name}", template({"model": json_text(path)}), ("model",), (422,))
    yield post("extra-field", b'{"model": null, "force": true}', ("force",), (422,))
    for name, body in BODIES.items():
        if name not in ("empty", "space", "null"):  # an empty body or null reloads the served model
            yield post(f"body-{name}", body, ("body",))
    for name, content_type in CONTENT_TYPES.items():
        yield post(f"content-type-{name}", b'{"model": "/no/such/folder"}', ("body", "model"),
                   content_type=content_type)  # fmt: skip


def unauthorised_cases() -> Iterator[Case]:
    """Writes without a key or with a bad one: 401/403 naming the Authorization header, whatever the body."""
    writes = {"events": ("POST", "/v1/events", event_body()), "reload": ("POST", "/admin/reload", b"{}"),
              "put-item": ("PUT", f"/v1/items/{ITEM}", b'{"title": "t"}'),
              "delete-item": ("DELETE", f"/v1/items/{ITEM}", None),
              "events-bad-body": ("POST", "/v1/events", event_body(ts=b"1e400")),
              "reload-bad-body": ("POST", "/admin/reload", b'{"model": 1e400}'),
              "put-item-bad-body": ("PUT", "/v1/items/x", b'{"title": Infinity}')}  # fmt: skip
    for name, (method, target, body) in writes.items():
        for header_name, header in {"none": None, **HEADERS}.items():
            if header_name in KEY_HEADERS:
                continue
            yield Case(f"{method}-{name}-authorization-{header_name}",
                       (Call(method, target, body, authorization=header, fields=("authorization",),
                             status=(401, 403)),))  # fmt: skip


def follow_up_cases() -> Iterator[Case]:
    """Odd values that are accepted, then read back: the answers that show them must still be JSON."""
    for value_name, value in {"nul": "\x00", "spaces": "   ", "rlo": "\u202e", "long": "y" * 1000,
                              "zero-width": "\u200b", "tab": "\t"}.items():  # fmt: skip
        item, user = f"follow-{value_name}", f"follow-user-{value_name}"
        quoted = quote(value, safe="")
        events = json.dumps({"events": [{"user_id": value, "item_id": item, "type": "purchase"},
                                        {"user_id": user, "item_id": item, "type": "rating", "value": 1e308},
                                        {"user_id": user, "item_id": ITEM, "type": "rating", "value": -1e308,
                                         "ts": 1e300}]}).encode()  # fmt: skip
        generate = "/v1/bundles/generate"
        put = json.dumps({"title": value, "description": value, "categories": [value, value]}).encode()
        by_user = json.dumps({"user_id": user, "k": 50, "max_per_category": 0, "budget": 0}).encode()
        by_items = json.dumps({"item_ids": [item, item], "k": 50, "diversity": 0.99}).encode()
        search = f"/v1/search?q={quoted}x&user_id={quoted}&category={quoted}&diversity=1"
        calls = (
            Call("PUT", f"/v1/items/{item}", put, fields=("title",), status=(200,)),
            Call("POST", "/v1/events", events, fields=("user_id",)),
            Call("GET", f"/v1/items/{item}/similar?diversity=0.5", status=(200,)),
            Call("GET", f"/v1/users/{quoted}/recommendations?explain=1&k=100&reranker=mmr&diversity=1", status=(200,)),
            Call("GET", f"/v1/users/{user}/recommendations?explain=true&category={quoted}", fields=("category",)),
            Call("GET", f"/v1/users/{quoted}/events?limit=1000", status=(200,)),
            Call("GET", f"/v1/users/{user}/bundles?k=100", status=(200,)),
            Call("GET", search, fields=("q", "user_id", "category")),
            Call("POST", generate, by_user, fields=("user_id",)),
            Call("POST", generate, by_items, status=(200,)),
            Call("POST", generate, json.dumps({"intent": value + " usb"}).encode(), fields=("intent",)),
            Call("DELETE", f"/v1/items/{item}", status=(200,)),
            Call("GET", f"/v1/users/{user}/bundles?k=100", status=(200,)),
            Call("GET", f"/v1/items/{item}/similar", fields=("item_id",), status=(404,)),
            Call("POST", generate, json.dumps({"user_id": user}).encode(), fields=("user_id",)),
        )
        yield Case(f"follow-up-{value_name}", calls)


CASES: list[Case] = [*get_cases(), *post_event_cases(), *generate_cases(), *item_cases(), *follow_up_cases(),
                     *unauthorised_cases(), *reload_cases()]  # fmt: skip
DUPLICATES = sorted(name for name, count in Counter(case.id for case in CASES).items() if count > 1)
assert not DUPLICATES, f"case ids must be unique: {DUPLICATES}"


# ------------------------------------------------------------------ the server


@dataclass(frozen=True)
class Served:
    server: ServerProcess
    client: httpx.Client
    key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("bad-input")
    data = load_dataset("bundlerec-electronic")
    assert USER in data.interactions.user_ids and ITEM in data.interactions.item_ids
    pipeline = PipelineConfig.from_toml(CONFIG).fit(data.interactions, data.catalog)
    model = save_pipeline(pipeline, folder / "model")
    PipelineBundles.fit(pipeline, data).save(model)
    key = Store(folder / "service.db").create_key("t")
    server = ServerProcess(model, folder / "service.db", folder / "server.log", SUBPROCESS_ENV).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            yield Served(server, client, key)
    finally:
        server.stop()


def send(served: Served, call: Call) -> httpx.Response:
    headers: dict[str, str | bytes] = {}
    if call.content_type is not None:
        headers["Content-Type"] = call.content_type
    if isinstance(call.authorization, bytes):
        headers["Authorization"] = call.authorization
    elif call.authorization is not None:
        headers["Authorization"] = call.authorization.replace(KEY, served.key)
    request = served.client.build_request(call.method, call.target, content=call.body, headers=headers)
    return served.client.send(request)


def names_a_field(body: Any, fields: tuple[str, ...]) -> bool:
    """Whether a 4xx body's `detail` names one of `fields`: an element of an entry's loc, or a word of a message."""
    detail = body.get("detail") if isinstance(body, dict) else None
    entries = detail if isinstance(detail, list) else [{"loc": [], "msg": detail}]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        loc = [str(part).lower() for part in entry.get("loc") or []]
        message = str(entry.get("msg") or "")
        for name in fields:
            if name.lower() in loc or re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message, re.IGNORECASE):
                return True
    return False


def problems_of(call: Call, response: httpx.Response) -> list[str]:
    """What is wrong with the answer to one call (empty: nothing)."""
    status, where = response.status_code, f"{call.method} {call.target[:120]!r}"
    if status >= 500:
        return [f"{where}: {status} {response.text[:300]!r}"]
    if call.status and status not in call.status:
        return [f"{where}: {status}, expected one of {call.status}: {response.text[:300]!r}"]
    try:
        body = response.json()
    except ValueError:
        return [f"{where}: {status} with a body that is not JSON: {response.text[:300]!r}"]
    if status < 400:
        return []
    if call.fields == (ROUTE,):
        ok = status in (404, 405) and isinstance(body, dict) and "detail" in body
        return [] if ok else [f"{where}: {status}, expected the 404 of no route: {response.text[:300]!r}"]
    if not names_a_field(body, call.fields):
        return [f"{where}: {status} does not name {' or '.join(call.fields)}: {response.text[:300]!r}"]
    return []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_a_4xx_naming_the_field(served: Served, case: Case) -> None:
    problems: list[str] = []
    for call in case.calls:
        try:
            response = send(served, call)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            problems.append(f"{call.method} {call.target[:120]!r}: connection dropped ({error!r})")
            continue
        problems += problems_of(call, response)
    assert not problems, "\n".join(problems)


def test_the_server_is_up_and_its_log_has_no_traceback(served: Served) -> None:
    """Runs last: the corpus left the server answering, and it logged no traceback."""
    assert served.server.process is not None and served.server.process.poll() is None, "the server exited"
    assert served.client.get(f"/v1/users/{USER}/recommendations").status_code == 200
    log = served.server.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 2000 :][:6000]
