"""Item -> text: a per-dataset template over the catalogue's fields.

The default reads like a product card: "Toy Story (1995). Categories: Animation, Children's,
Comedy. Tags: pixar, fun." — title first, a year-like attribute in brackets, categories, then every
other text field with its name. HTML is stripped, entities decoded, whitespace collapsed, and the
text is cut at a word boundary.
"""

from __future__ import annotations

import html
import re

from prismrec.data.schema import Catalog
from prismrec.errors import ConfigError

YEAR_FIELDS = ("year", "release_year")
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Text without HTML tags or entities, on one line."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def cut(text: str, max_chars: int) -> str:
    """At most `max_chars` characters, ending on a word boundary where there is one."""
    if len(text) <= max_chars:
        return text
    if text[max_chars] == " ":
        return text[:max_chars]
    head = text[:max_chars]
    space = head.rfind(" ")
    return head[:space] if space > max_chars // 2 else head


def default_fields(catalog: Catalog) -> list[str]:
    """Title, year, categories, then the other text fields."""
    fields = list(catalog.text_fields[:1])
    fields += [f for f in YEAR_FIELDS if f in catalog.table.columns][:1]
    fields.append("categories")
    fields += list(catalog.text_fields[1:])
    return fields


def item_texts(catalog: Catalog, fields: list[str] | None = None, max_chars: int = 512) -> list[str]:
    """One text per item index, built from `fields` (default: `default_fields`)."""
    fields = fields or default_fields(catalog)
    unknown = [f for f in fields if f != "categories" and f not in catalog.table.columns]
    if unknown:
        known = ["categories", *catalog.table.columns]
        raise ConfigError(f"encoder fields {unknown} are not in the catalogue; it has {known}")
    title_field = catalog.text_fields[0] if catalog.text_fields else None
    columns = {f: catalog.table[f].astype(str).tolist() for f in fields if f != "categories"}
    texts = []
    for i in range(len(catalog)):
        parts: list[str] = []
        title_at = None
        for field in fields:
            if field == "categories":
                labels = [clean(c) for c in catalog.categories[i] if clean(c)]
                if labels:
                    parts.append(_sentence("Categories: " + ", ".join(labels)))
                continue
            value = clean(columns[field][i])
            if not value:
                continue
            if field == title_field:
                title_at = len(parts)
                parts.append(_sentence(value))
            elif field in YEAR_FIELDS and title_at is not None:
                parts[title_at] = _sentence(f"{parts[title_at].rstrip('.')} ({value})")
            else:
                parts.append(_sentence(f"{field.replace('_', ' ').capitalize()}: {value}"))
        texts.append(cut(" ".join(parts), max_chars))
    return texts


def _sentence(text: str) -> str:
    """The text ending with a full stop unless it already ends with punctuation."""
    return text if text[-1:] in ".!?。！？" else text + "."
