"""Dataset registry: download with checksum (over a local file:// address), data home lookup, errors."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from prismrec.data import registry
from prismrec.data.registry import RemoteFile, fetch, load_dataset, spec_of
from prismrec.errors import DataError, PrismrecError


def test_fetch_keeps_a_file_whose_checksum_matches(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_bytes(b"user_id\titem_id\n1\t2\n")
    target = tmp_path / "home" / "set" / "data.txt"
    fetch(RemoteFile("data.txt", source.as_uri(), hashlib.sha256(source.read_bytes()).hexdigest()), target)
    assert target.read_bytes() == source.read_bytes()
    assert list(target.parent.iterdir()) == [target]  # no partial file left behind


def test_fetch_rejects_a_wrong_checksum_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_bytes(b"tampered")
    target = tmp_path / "home" / "data.txt"
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch(RemoteFile("data.txt", source.as_uri(), "0" * 64), target)
    assert list(target.parent.iterdir()) == []


def test_unreachable_address_says_where_to_put_the_file(tmp_path: Path) -> None:
    target = tmp_path / "data.txt"
    with pytest.raises(PrismrecError, match=f"put the file at {target}"):
        fetch(RemoteFile("data.txt", (tmp_path / "missing").as_uri(), "0" * 64), target)


def test_missing_dataset_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(tmp_path))
    with pytest.raises(PrismrecError, match=r"not in .*PRISMREC_DATA_HOME"):
        load_dataset("ml-100k", download=False)


def test_load_downloads_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> None:
    """A data home without ml-100k gets it from the recorded addresses (here: the shared copy as file://)."""
    spec = spec_of("ml-100k")
    local = tuple(dataclasses.replace(f, url=(shared_data / "ml-100k" / f.path).as_uri()) for f in spec.files)
    monkeypatch.setitem(registry.REGISTRY, "ml-100k", dataclasses.replace(spec, files=local))
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(tmp_path))
    data = load_dataset("ml-100k")
    assert (data.n_users, data.n_items, len(data.interactions)) == (943, 1682, 100_000)
    assert sorted(p.name for p in (tmp_path / "ml-100k").iterdir()) == ["ml-100k.inter", "ml-100k.item", "ml-100k.user"]


def test_unknown_dataset_lists_known_names() -> None:
    with pytest.raises(PrismrecError, match=r"unknown dataset 'ml-1b'; known datasets: .*ml-100k"):
        spec_of("ml-1b")


def test_download_of_a_gzip_stored_source_checks_the_plain_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    """amazon-games as a new user gets it: the plain source files (served as file://), checked against the
    recorded sha256, stored gzip-compressed, then the atomic file derived and loaded."""
    import gzip

    served = tmp_path / "served"
    served.mkdir()
    (served / "Games-6k.test.inter").write_bytes(gzip.decompress((shared_data / "amazon-games" /
                                                                  "Games-6k.test.inter.gz").read_bytes()))  # fmt: skip
    (served / "Games-6k.item").write_bytes((shared_data / "amazon-games" / "amazon-games.item").read_bytes())
    spec = spec_of("amazon-games")
    local = tuple(dataclasses.replace(f, url=(served / f.url.rsplit("/", 1)[1]).as_uri()) for f in spec.files)
    monkeypatch.setitem(registry.REGISTRY, "amazon-games", dataclasses.replace(spec, files=local))
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(tmp_path / "home"))
    data = load_dataset("amazon-games")
    assert (data.n_users, len(data.interactions)) == (50_546, 440_264)
    folder = tmp_path / "home" / "amazon-games"
    assert sorted(p.name for p in folder.iterdir()) == ["Games-6k.test.inter.gz", "amazon-games.inter",
                                                       "amazon-games.item"]  # fmt: skip
    stored = gzip.decompress((folder / "Games-6k.test.inter.gz").read_bytes())
    assert stored == (served / "Games-6k.test.inter").read_bytes()
