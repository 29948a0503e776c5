"""amazon-games and ml-1m: the atomic files derived from the sources, and PROTOCOL.md E's split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from prismrec.data.derived import load_amazon_games, load_ml_1m
from prismrec.data.splits import split
from prismrec.errors import DataError

DERIVED_SHA256 = {  # recorded in the shared SOURCE.md files (written by their make_atomic.py)
    "amazon-games/amazon-games.inter": "99e5822e8ea9a6ee07296241da077ab0d2a88347103b007384c06118ac846134",
    "ml-1m/ml-1m.inter": "d8af18aab71cb480c1304a21358c332de0f10a01f2d61ec05558cbe523c331cb",
    "ml-1m/ml-1m.item": "561ce7f3ca9ce4f89ccf3d05c7649087f71af4333d158c7ce679380dcaa7224a",
}
SOURCES = {"amazon-games": ("Games-6k.test.inter.gz", "amazon-games.item"),
           "ml-1m": ("train.txt.gz", "test.txt.gz", "ml-1m-full.item.gz")}  # fmt: skip


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def derived(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folders holding only the source files (links to the shared copies), loaded once so the files are derived."""
    root = tmp_path_factory.mktemp("derived")
    for name, files in SOURCES.items():
        (root / name).mkdir()
        for file in files:
            (root / name / file).symlink_to(shared_data / name / file)
    load_amazon_games(root / "amazon-games")
    load_ml_1m(root / "ml-1m")
    return root


@pytest.mark.parametrize("path", sorted(DERIVED_SHA256))
def test_derived_files_equal_the_reference_derivation(derived: Path, path: str) -> None:
    assert sha256(derived / path) == DERIVED_SHA256[path]
    assert not list((derived / path).parent.glob("*.part"))


def test_amazon_games_is_ordered_sequences_with_titles(derived: Path) -> None:
    data = load_amazon_games(derived / "amazon-games")
    inter = data.interactions
    assert (inter.n_users, inter.n_items, len(inter)) == (50_546, 16_859, 440_264)
    assert data.catalog.title(inter.item_ids.index("0")) == "Fire Emblem: The Sacred Stones"
    first = inter.select(inter.users == inter.user_ids.index("0"))
    assert list(first.item_ids.ids[first.items[np.argsort(first.timestamps)]][:3]) == ["0", "1", "2"]


def test_ml_1m_pairs_titles_and_genres(derived: Path) -> None:
    data = load_ml_1m(derived / "ml-1m")
    inter = data.interactions
    assert (inter.n_users, len(inter)) == (6_040, 1_000_209) and not inter.has_timestamps
    counts = inter.item_counts()
    top = int(np.argmax(counts))
    assert counts[top] == 3_428 and data.catalog.title(top).startswith("American Beauty")
    assert "Drama" in data.catalog.categories[top]


def test_leave_one_out_reproduces_the_reference_split_on_amazon_games(shared_data: Path) -> None:
    """tools/evaluate.py --protocol leave-one-out fingerprints: test_sha1 4c72cf32f869, valid_sha1 d2d1f87aba52."""
    parts = split(load_amazon_games(shared_data / "amazon-games").interactions, "leave-one-out")
    assert parts.fingerprint("test") == "4c72cf32f869" and parts.fingerprint("valid") == "d2d1f87aba52"


def test_a_broken_source_line_names_file_and_line(tmp_path: Path) -> None:
    import gzip

    with gzip.open(tmp_path / "Games-6k.test.inter.gz", "wt") as out:
        out.write("user_id:token\titem_id_list:token_seq\titem_id:token\n0\t1 2\t3\n1\t4 5\n")
    (tmp_path / "amazon-games.item").write_text("item_id:token\ttitle:token_seq\n1\ta\n")
    with pytest.raises(DataError, match="line 3") as error:
        load_amazon_games(tmp_path)
    assert "Games-6k.test.inter.gz" in str(error.value)
    assert not (tmp_path / "amazon-games.inter").exists()
