"""The named datasets prismrec knows. One `register` call per dataset.

Addresses are the publishers' files at pinned commits, so the recorded sha256 stays valid.
"""

from __future__ import annotations

from prismrec.data.atomic import load_atomic
from prismrec.data.registry import DatasetSpec, RemoteFile, register

_RECBOLE = "https://raw.githubusercontent.com/RUCAIBox/RecBole/7b02be5ec80a88310f2d04a27a82adfcbb5dc211/dataset/ml-100k"

register(
    DatasetSpec(
        name="ml-100k",
        description="MovieLens 100K (GroupLens, via RecBole atomic files): 943 users, 1,682 movies, 100,000 ratings",
        loader=lambda folder: load_atomic(folder, "ml-100k"),
        files=(
            RemoteFile("ml-100k.inter", f"{_RECBOLE}/ml-100k.inter",
                       "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"),
            RemoteFile("ml-100k.item", f"{_RECBOLE}/ml-100k.item",
                       "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532"),
            RemoteFile("ml-100k.user", f"{_RECBOLE}/ml-100k.user",
                       "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972"),
        ),
        terms="GroupLens research licence: research use, no commercial use without permission",
    )
)  # fmt: skip
