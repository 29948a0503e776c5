"""What a named dataset is: its files (address and checksum), loader and terms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prismrec.data.schema import Dataset


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its path inside the dataset folder, download address and sha256 (of the bytes
    downloaded); with `gzip`, the download is stored gzip-compressed under `path`."""

    path: str
    url: str
    sha256: str
    gzip: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset.

    Attributes:
        name: registry key, also the folder name in the data home unless `folder` is set.
        description: one line for `prismrec datasets`.
        loader: builds the `Dataset` from the local folder.
        files: every file the loader needs, with address and checksum (paths relative to the folder).
        terms: the publisher's terms in a few words.
        folder: the folder in the data home when it differs from `name` (several datasets may
            share one folder, e.g. "bundlerec-mturk" with files "electronic/...").
    """

    name: str
    description: str
    loader: Callable[[Path], Dataset]
    files: tuple[RemoteFile, ...]
    terms: str
    folder: str | None = None

    @property
    def folder_name(self) -> str:
        """The dataset's folder in the data home."""
        return self.folder or self.name
