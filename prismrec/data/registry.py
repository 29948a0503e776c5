"""Named datasets: where their files live locally and where they come from.

`load_dataset("ml-100k")` looks in the data home (`PRISMREC_DATA_HOME`, default
`~/.cache/prismrec`) under a folder of the dataset's name. Files that are missing there are
downloaded from their recorded address and accepted only if their sha256 matches.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from prismrec.data.catalogue import DATASETS
from prismrec.data.schema import Dataset
from prismrec.data.specs import DatasetSpec, RemoteFile
from prismrec.errors import DataError, PrismrecError

DATA_HOME_ENV = "PRISMREC_DATA_HOME"


REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in DATASETS}


def datasets() -> dict[str, DatasetSpec]:
    """Every named dataset, by name."""
    return dict(REGISTRY)


def data_home() -> Path:
    """The folder that holds one sub-folder per named dataset."""
    return Path(os.environ.get(DATA_HOME_ENV) or Path.home() / ".cache" / "prismrec").expanduser()


def dataset_dir(name: str) -> Path:
    """The local folder of a named dataset (inside the data home)."""
    return data_home() / spec_of(name).folder_name


def spec_of(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise PrismrecError(f"unknown dataset '{name}'; known datasets: {known}") from None


def is_present(name: str) -> bool:
    """Whether every file of the dataset is in the data home."""
    folder = dataset_dir(name)
    return all((folder / f.path).is_file() for f in spec_of(name).files)


def load_dataset(name: str, download: bool = True) -> Dataset:
    """Load a named dataset from the data home, downloading missing files when allowed."""
    spec = spec_of(name)
    folder = dataset_dir(name)
    missing = [f for f in spec.files if not (folder / f.path).is_file()]
    if missing and not download:
        raise PrismrecError(
            f"dataset '{name}' is not in {folder} (missing {[f.path for f in missing]}); "
            f"set {DATA_HOME_ENV} to the folder that holds '{spec.folder_name}/' or allow the download"
        )
    for remote in missing:
        fetch(remote, folder / remote.path)
    return spec.loader(folder)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(remote: RemoteFile, target: Path) -> None:
    """Download one file to `target`, keeping it only if its sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as part:
        part_path = Path(part.name)
    try:
        try:
            with urllib.request.urlopen(remote.url, timeout=60) as response, open(part_path, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, leave=False) as bar:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        bar.update(len(block))
        except OSError as error:
            raise PrismrecError(
                f"could not download {remote.url} ({error}); put the file at {target} by hand"
            ) from None
        actual = sha256_of(part_path)
        if actual != remote.sha256:
            raise DataError(f"checksum mismatch: expected sha256 {remote.sha256}, got {actual}", remote.url)
        if remote.gzip:
            with open(part_path, "rb") as plain, gzip.open(f"{part_path}.gz", "wb") as packed:
                shutil.copyfileobj(plain, packed)
            Path(f"{part_path}.gz").replace(part_path)
        part_path.replace(target)
    finally:
        part_path.unlink(missing_ok=True)
        Path(f"{part_path}.gz").unlink(missing_ok=True)
