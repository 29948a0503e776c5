"""KuaiRec 2.0 video captions and categories (Gao et al., CIKM 2022): Chinese item text, no interactions.

One comma CSV with header, `kuairec_caption_category.csv` (10,728 videos of the Kuaishou app):

- `video_id`: the item id (0…10727);
- `caption`: user-written caption with `#hashtags` and `@name(O123…)` user handles (handles are removed);
- `manual_cover_text`: the text on the video cover; the literal `UNKNOWN` means none;
- `topic_tag`: a list written `[a,b,c]` (items unquoted, so not JSON) → text "a, b, c";
- `first/second/third_level_category_name`: a three-level category tree; `UNKNOWN` means missing.

Parsing trap: four captions contain a bare carriage return inside an unquoted field, which the csv
module and pandas read as a line break (four broken records). The raw text is read without newline
translation and every `\\r` becomes a space before parsing.

The dataset has a catalogue and no events: it is for item-text work (sentence encoders on Chinese text,
semantic search, cold-start item vectors), not for collaborative filtering.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from prismrec.data.readers import read_text, record_lines, require_columns, require_ids, unique_items
from prismrec.data.schema import Dataset, assemble
from prismrec.errors import DataError

FILE_NAME = "kuairec_caption_category.csv"
MISSING = "UNKNOWN"
CATEGORY_COLUMNS = ("first_level_category_name", "second_level_category_name", "third_level_category_name")
REQUIRED_COLUMNS = ("video_id", "manual_cover_text", "caption", "topic_tag", *CATEGORY_COLUMNS)
TEXT_FIELDS = ("caption", "manual_cover_text", "topic_tag")
# The catalogue attribute of each category level ("" where the source says UNKNOWN).
LEVEL_FIELDS = ("first_level_category", "second_level_category", "third_level_category")

# "@name(O123456789)": a mention of a user account; the name may hold spaces, dots and emoji.
_HANDLE = re.compile(r"@[^@()\n]{0,60}?\(O\d+\)")


def strip_handles(caption: str) -> str:
    """The caption without `@name(O…)` user handles, whitespace collapsed."""
    return " ".join(_HANDLE.sub(" ", caption).split())


def parse_topic_tags(value: str) -> str:
    """'[五爱市场,搞笑]' -> '五爱市场, 搞笑' (empty parts and repeats dropped; '[]' -> '')."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    tags = dict.fromkeys(part.strip() for part in value.split(",") if part.strip())
    return ", ".join(tags)


def known(value: str) -> str:
    """The value, or "" for the missing-value marker `UNKNOWN`."""
    value = " ".join(value.split())
    return "" if value == MISSING else value


def load_kuairec_captions(folder: str | Path, name: str = "kuairec-captions") -> Dataset:
    """Load `kuairec_caption_category.csv` from `folder`.

    Returns:
        Dataset `name` with 10,728 items and no users or events. Catalogue text fields `caption`
        (handles removed), `manual_cover_text` ("" where UNKNOWN) and `topic_tag` ("a, b, c");
        attributes `first_level_category`, `second_level_category`, `third_level_category` ("" where
        UNKNOWN); categories = the known level names, first level first.
    """
    items = read_captions(Path(folder) / FILE_NAME)
    events = pd.DataFrame({"user_id": pd.Series(dtype=object), "item_id": pd.Series(dtype=object),
                           "value": pd.Series(dtype=float), "timestamp": pd.Series(dtype=float)})  # fmt: skip
    interactions, catalog, _ = assemble(name, events, items, TEXT_FIELDS, "categories", implicit=True)
    return Dataset(name, interactions, catalog)


def read_captions(path: Path) -> pd.DataFrame:
    """Items frame [n_items, 8]: item_id, the three text fields, the three level names, categories (tuples)."""
    text = read_text(path).replace("\r", " ")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, engine="c")
    except pd.errors.ParserError as error:
        raise DataError(f"malformed record: {error}", path) from None
    except pd.errors.EmptyDataError:
        raise DataError("file has no header or no data", path) from None
    if frame.empty:
        raise DataError("file has a header but no data rows", path)
    frame["_line"] = record_lines(text, len(frame), 1, True)
    require_columns(frame, path, REQUIRED_COLUMNS, hint=f"expected the KuaiRec file {FILE_NAME}")
    frame["video_id"] = require_ids(frame, "video_id", path)
    frame = unique_items(frame, path, "video_id")
    levels = [[known(v) for v in frame[column]] for column in CATEGORY_COLUMNS]
    items = pd.DataFrame(
        {
            "item_id": frame["video_id"].to_numpy(),
            "caption": [strip_handles(c) for c in frame["caption"]],
            "manual_cover_text": [known(c) for c in frame["manual_cover_text"]],
            "topic_tag": [parse_topic_tags(t) for t in frame["topic_tag"]],
        }
    )
    for field, names in zip(LEVEL_FIELDS, levels, strict=True):
        items[field] = names
    items["categories"] = [tuple(dict.fromkeys(n for n in row if n)) for row in zip(*levels, strict=True)]
    return items
