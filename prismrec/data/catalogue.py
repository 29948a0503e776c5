"""The named datasets prismrec knows. One `DatasetSpec` per dataset in `DATASETS`.

Addresses are the publishers' files at pinned commits, so the recorded sha256 stays valid.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prismrec.data.amazon import load_amazon_2018
from prismrec.data.atomic import load_atomic
from prismrec.data.bundlerec import load_bundlerec
from prismrec.data.crosscbr import load_crosscbr
from prismrec.data.derived import load_amazon_games, load_ml_1m
from prismrec.data.kuairec import load_kuairec_captions
from prismrec.data.movielens import load_movielens_latest
from prismrec.data.schema import Dataset
from prismrec.data.specs import DatasetSpec, RemoteFile
from prismrec.data.steam import load_steam_bundles

_RECBOLE = "https://raw.githubusercontent.com/RUCAIBox/RecBole/7b02be5ec80a88310f2d04a27a82adfcbb5dc211/dataset/ml-100k"

_SPECS: list[DatasetSpec] = []

_SPECS.append(
    DatasetSpec(
        name="ml-100k",
        description="MovieLens 100K (GroupLens, via RecBole atomic files): "
        "943 users, 1,682 movies, 100,000 ratings",
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

_LLMRANK = "https://raw.githubusercontent.com/RUCAIBox/LLMRank/5ec1154cb74cbf68ed5721212f1d7e79336c39c7/llmrank/dataset"
_RESN = "https://raw.githubusercontent.com/LIN452/ReSN/a190a0737a4b0a5975dcf26e2308c049a3569bc1/data/ml-1m"

_SPECS.append(
    DatasetSpec(
        name="ml-1m",
        description="MovieLens 1M (GroupLens; pairs via ReSN, titles and genres via LLMRank): "
        "6,040 users, 3,706 movies, 1,000,209 implicit pairs, no timestamps",
        loader=load_ml_1m,
        files=(
            RemoteFile("train.txt.gz", f"{_RESN}/train.txt",
                       "917e2eabe7d102a603c8594f522a1569cb69d26d63f0d9d2f071f0a6d2ea0149", gzip=True),
            RemoteFile("test.txt.gz", f"{_RESN}/test.txt",
                       "c52de8b0cb2fe1eec9c9746a16127636fa1236aed023179a44d303b69f1a4078", gzip=True),
            RemoteFile("ml-1m-full.item.gz", f"{_LLMRANK}/ml-1m-full/ml-1m-full.item",
                       "6eff097333db47adf003039eb90cb6ab13978fa9577d915d2366e4d073844dc3", gzip=True),
        ),
        terms="GroupLens research licence: research use, no commercial use without permission",
    )
)  # fmt: skip

_SPECS.append(
    DatasetSpec(
        name="amazon-games",
        description="Amazon Video Games 2018 (5-core sequences with titles, LLMRank Games-6k): "
        "50,546 users, 16,859 items, 440,264 ordered events",
        loader=load_amazon_games,
        files=(
            RemoteFile("Games-6k.test.inter.gz", f"{_LLMRANK}/Games-6k/Games-6k.test.inter",
                       "b241e4c8a52d2d41530fd073296e8bced4b61753e86ed6c51467c657704bab19", gzip=True),
            RemoteFile("amazon-games.item", f"{_LLMRANK}/Games-6k/Games-6k.item",
                       "be9cea58a8de4f940a20b0ad6b58bad46b22fd6f9dbc82d1a1902e1c62e96ade"),
        ),
        terms="Ni, Li & McAuley (EMNLP 2019): research use only; LLMRank files MIT",
    )
)  # fmt: skip

_RAW = "https://raw.githubusercontent.com"

_ML_LATEST = (
    "https://raw.githubusercontent.com/powerseed/item-based-collaborative-filtering/"
    "42a4be9def857386b2393eee1f03f7d3d25e96ae/ml-latest-small"
)

_SPECS.append(
    DatasetSpec(
        name="ml-latest-small",
        description="MovieLens latest-small (GroupLens, 2018): "
        "610 users, 9,742 movies, 100,836 ratings, 3,683 tags",
        loader=lambda folder: load_movielens_latest(folder, "ml-latest-small"),
        files=(
            RemoteFile("ratings.csv", f"{_ML_LATEST}/ratings.csv",
                       "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646"),
            RemoteFile("movies.csv", f"{_ML_LATEST}/movies.csv",
                       "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07"),
            RemoteFile("tags.csv", f"{_ML_LATEST}/tags.csv",
                       "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d"),
        ),
        terms="GroupLens research licence: research use, no commercial use without permission",
    )
)  # fmt: skip

_AMAZON = "https://raw.githubusercontent.com/ncloud50/giftcard/f9e7a74233d8ae463a411dd92fe539d4ac992110"

_SPECS.append(
    DatasetSpec(
        name="amazon-gift-cards-2018",
        description="Amazon Review Data 2018, Gift Cards 5-core + metadata: "
        "458 users, 1,547 items, 2,972 reviews",
        loader=lambda folder: load_amazon_2018(folder, name="amazon-gift-cards-2018"),
        files=(
            RemoteFile("Gift_Cards_5.json.gz", f"{_AMAZON}/Gift_Cards_5.json.gz",
                       "41e1f0e50d3c1c9d7d949fb6315944c8bde51ea6b7429a29fdd0d02cbc07ef25"),
            RemoteFile("meta_Gift_Cards.json.gz", f"{_AMAZON}/meta_Gift_Cards.json.gz",
                       "07fd154b7275ab9b1537e3802913508c7a5f84ed00f73201cd3fa18b2b51b342"),
        ),
        terms="Ni, Li & McAuley (EMNLP 2019): research use only, cite the paper",
    )
)  # fmt: skip

_YOUSHU = "https://raw.githubusercontent.com/mysbupt/CrossCBR/49717496a4be9cda72209645631634d58dd39d23/datasets/Youshu"

_SPECS.append(
    DatasetSpec(
        name="youshu",
        description="Youshu book lists (BGCN/CrossCBR split): "
        "8,039 users, 32,770 items, 4,771 bundles; ids only",
        loader=lambda folder: load_crosscbr(folder, "Youshu"),
        files=(
            RemoteFile("user_item.txt", f"{_YOUSHU}/user_item.txt",
                       "fd785c3293cd639e4b9dbb9b87ac3778106c5605824ed29d5f61105ed04303fb"),
            RemoteFile("bundle_item.txt", f"{_YOUSHU}/bundle_item.txt",
                       "e7945f0579c117bb1051d35558a101337b36431be1c14f029e5d00b5670ab657"),
            RemoteFile("user_bundle_train.txt", f"{_YOUSHU}/user_bundle_train.txt",
                       "7d7c4849e10f55225ea9ca4e875122012a3afadd6ec93202653723e82630d6b5"),
            RemoteFile("user_bundle_tune.txt", f"{_YOUSHU}/user_bundle_tune.txt",
                       "89b7b5eb746a6b564afadc28443ce618b6cbf0684b4d828fa647548db0760e91"),
            RemoteFile("user_bundle_test.txt", f"{_YOUSHU}/user_bundle_test.txt",
                       "0422bdd824871cb67738efe8d7d7a7898a3f0e9111565b217495c122f073aadf"),
            RemoteFile("Youshu_data_size.txt", f"{_YOUSHU}/Youshu_data_size.txt",
                       "d0a54cb9c211254cca2652f85f8c2e9c60ac0d3607a360c79d4083ca0f28c6ac"),
        ),
        terms="Chen et al. (IJCAI 2019), BGCN, CrossCBR: research use only, cite the papers",
    )
)  # fmt: skip

_BUNDLEREC = f"{_RAW}/BundleRec/bundle_recommendation/087da2e2b4d8738ef23f3f6f2005505e8685edde/dataset"
_BUNDLEREC_FOLDER = "bundlerec-mturk"
# sha256 per domain, in the order of _BUNDLEREC_FILES
_BUNDLEREC_FILES = (
    "user_item.csv", "item_titles.csv", "item_categories.csv", "bundle_item.csv", "bundle_intent.csv",
    "user_bundle.csv",
)  # fmt: skip
_BUNDLEREC_SHA256 = {
    "electronic": (
        "a8778af786d00404e32be48b43ae2cddd7ce60ad898c56f3615042240e278a67",
        "8d77a35db7527bd87f0a8fb4630e5412446d15140ad4210b5a28a738dc274ae1",
        "04a0cdb5b5567b0c0c18e22a29a38f77718ff9770281c3f0672a3c57ddcc4d25",
        "86e10270825961063ff1ae4a9557bc8d590f0f79356c77fce26a08dce9d1f824",
        "4842c8d9bde56585bac0cc08918038aa2d27b61a988070fadea9089d4dc16660",
        "adfe1efff2e0e14a2cad85e139e028ed433baeb135f2222af1a212e063b96a05",
    ),
    "clothing": (
        "7cecea6149c8be073ecf7e5ba21be868cd5fd2122a0cba57198c7f6746a90e09",
        "4719a0d21d7a9072c726299781f4d9ee6504f00932f7b748141a8c3c44388a07",
        "1a62964575d3d0a87ef2e4b8a0de1c6ce45b649ee27d139512b3de5ffedc24a3",
        "5eb5ad2104e6ac7340abe76c358b700dfc72c075fe1afcb5d7d7a916e7753e82",
        "aa014189976bc1b6b16baa3e3418ce205f6422cad70249e251ea8af217fe97c1",
        "24fde36824c259bcb22dd86c06356781b5c7b2e72d1c8a3e520ceb273f038c06",
    ),
    "food": (
        "edd6f5d34f27e54b79edfb5d6f3b1580a0d79d2b35b781f86b93d011b299580e",
        "04d517844a92d491c2e0528364e66d3d996dd5162089bcf010e1607b76d1f19b",
        "bb395a3e0e9a79163322022c7e0132889002baa20258e2cda61dec1fbc0a974c",
        "78bbe8e0ecc323c669460467393e5062c8253e03b0fe485f1cdbf7f1f41b077b",
        "c752f42b40d6bfddea78771afdbdcfc0141dc1bf8d80a9522b14619318545fca",
        "eb22b8ee0e52e1d5e989ebbef22a254fc7f6b46f30b3f7d172da492cfdb2a0ec",
    ),
}
_BUNDLEREC_SIZES = {
    "electronic": "888 users, 3,499 items, 4,461 user-item pairs, 1,750 bundles",
    "clothing": "965 users, 4,487 items, 4,653 user-item pairs, 1,910 bundles",
    "food": "879 users, 3,767 items, 4,619 user-item pairs, 1,784 bundles",
}


def _bundlerec_loader(domain: str) -> Callable[[Path], Dataset]:
    """The loader of one BundleRec domain; the registry folder is the shared "bundlerec-mturk"."""
    return lambda folder: load_bundlerec(Path(folder) / domain, f"bundlerec-{domain}")


for _domain, _hashes in _BUNDLEREC_SHA256.items():
    _SPECS.append(
        DatasetSpec(
            name=f"bundlerec-{_domain}",
            description=f"BundleRec bundles with intents ({_domain}): {_BUNDLEREC_SIZES[_domain]}",
            loader=_bundlerec_loader(_domain),
            files=tuple(
                RemoteFile(f"{_domain}/{file}", f"{_BUNDLEREC}/{_domain}/{file}", sha256)
                for file, sha256 in zip(_BUNDLEREC_FILES, _hashes, strict=True)
            ),
            terms="Sun et al. (SIGIR 2022; ACM TORS 2024): research use only, cite both papers",
            folder=_BUNDLEREC_FOLDER,
        )
    )

_KUAIREC = f"{_RAW}/iamztq666-commits/OneRec--GRPO/97381d1233f10b3246e68dfc32a7a6f3a050f309"

_SPECS.append(
    DatasetSpec(
        name="kuairec-captions",
        description="KuaiRec 2.0 video captions and category names (Chinese; Kuaishou): "
        "10,728 videos, 38 top-level categories; no interactions",
        loader=load_kuairec_captions,
        files=(
            RemoteFile("kuairec_caption_category.csv", f"{_KUAIREC}/kuairec_caption_category.csv",
                       "08f6ec40059c5a7ecdcebf615d080d9cf8f59f9497f6d66e8d5ccabdc7cab2d9"),
        ),
        terms="Gao et al. (CIKM 2022), KuaiRec: CC BY-SA 4.0 (attribution, share-alike)",
    )
)  # fmt: skip

_STEAM = f"{_RAW}/Carineyam/systeme-de-recommandation-de-jeux-vid-os/15baafe623d17ffc3ae8daec2b3f8b661e9cb9e3"

_SPECS.append(
    DatasetSpec(
        name="steam-bundles",
        description="Steam store bundles with item names, genres and prices (McAuley lab): "
        "615 bundles, 2,805 items; no users",
        loader=load_steam_bundles,
        files=(
            RemoteFile("bundle_data.json", f"{_STEAM}/bundle_data.json",
                       "2907fbace9839a0b728c9319b327d9485d8d42406827a8f17acb259c54ca49a2"),
        ),
        terms="research use; cite Pathak, Gupta & McAuley, SIGIR 2017",
    )
)  # fmt: skip

DATASETS: tuple[DatasetSpec, ...] = tuple(_SPECS)
