"""Loaders of the named datasets: counts and content on the real files, clear errors on bad files.

The real datasets are read from `PRISMREC_DATA_HOME` (default: `../shared/data` next to the
project); they must be present, CI always has them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from prismrec.data.amazon import clean_html, load_amazon_2018
from prismrec.data.bundlerec import load_bundlerec, parse_category_paths
from prismrec.data.crosscbr import load_crosscbr
from prismrec.data.movielens import load_grouplens_100k, load_movielens_latest, split_title_year
from prismrec.data.registry import DATA_HOME_ENV, dataset_dir, load_dataset, sha256_of, spec_of
from prismrec.data.schema import Dataset
from prismrec.errors import DataError

REGISTERED = (
    "ml-100k", "ml-latest-small", "amazon-gift-cards-2018", "youshu",
    "bundlerec-electronic", "bundlerec-clothing", "bundlerec-food",
)  # fmt: skip
# name -> (users, items, interactions)
EXPECTED_COUNTS = {
    "ml-100k": (943, 1682, 100_000),
    "ml-latest-small": (610, 9742, 100_836),
    "amazon-gift-cards-2018": (458, 1547, 2965),
    "youshu": (8039, 32_770, 138_515),
    "bundlerec-electronic": (888, 3499, 4461),
    "bundlerec-clothing": (965, 4487, 4653),
    "bundlerec-food": (879, 3767, 4619),
}


def history_length(dataset: Dataset, user: str) -> int:
    return int(dataset.interactions.user_counts()[dataset.interactions.user_ids.index(user)])


def item_row(dataset: Dataset, item: str) -> tuple[dict[str, str], tuple[str, ...]]:
    index = dataset.catalog.item_ids.index(item)
    return dataset.catalog.table.iloc[index].to_dict(), dataset.catalog.categories[index]


def bundle_members(dataset: Dataset, bundle: str) -> list[str]:
    """Sorted external item ids of one bundle."""
    assert dataset.bundles is not None
    row = dataset.bundles.membership[dataset.bundles.bundle_ids.index(bundle)]
    return sorted(dataset.interactions.item_ids.to_external(row.indices))


def assert_error(error: pytest.ExceptionInfo, file: str, line: int | None, field: str | None) -> None:
    """The message names the file, the line and the field."""
    message = str(error.value)
    assert file in message, message
    assert Path(error.value.path or "").name == file
    if line is not None:
        assert f"line {line}" in message, message
        assert error.value.line == line
    if field is not None:
        assert f"'{field}'" in message, message
        assert error.value.field == field


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def write_json_lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


# ----------------------------------------------------------------------------- GroupLens ML-100K


GENRE_FLAGS = {
    "1": "0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0",  # Animation, Children's, Comedy
    "2": "0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0",  # Action, Adventure, Thriller
    "3": "0|0|0|0|0|1|0|0|1|0|0|0|0|0|1|0|0|0|0",  # Comedy, Drama, Romance
}


@pytest.fixture
def ml100k_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ml-100k"
    write(folder / "u.data", "196\t1\t3\t881250949\n186\t2\t5\t891717742\n196\t3\t4\t878887116\n"
          "22\t1\t1\t880606923\n186\t1\t2\t886397596\n22\t3\t5\t884182806\n")  # fmt: skip
    items = [
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{GENRE_FLAGS['1']}",
        f"2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|{GENRE_FLAGS['2']}",
        f"3|Café Society (1995)|01-Jan-1995||http://us.imdb.com/Title?Caf%E9+Society|{GENRE_FLAGS['3']}",
    ]
    write(folder / "u.item", "\n".join(items) + "\n", encoding="latin-1")
    write(folder / "u.user", "22|25|M|writer|40206\n186|39|F|executive|00000\n196|49|M|writer|55105\n")
    return folder


def test_grouplens_100k_fixture(ml100k_folder: Path) -> None:
    data = load_grouplens_100k(ml100k_folder)
    assert (data.n_users, data.n_items, len(data.interactions)) == (3, 3, 6)
    assert data.rating_scale == (1.0, 5.0)
    row, categories = item_row(data, "3")
    assert (row["title"], row["year"]) == ("Café Society", "1995")
    assert categories == ("Comedy", "Drama", "Romance")
    assert item_row(data, "1")[1] == ("Animation", "Children's", "Comedy")
    assert data.catalog.text_fields == ("title",)
    assert data.user_table is not None
    assert data.user_table.iloc[data.interactions.user_ids.index("186")].to_dict() == {
        "age": "39", "gender": "F", "occupation": "executive", "zip_code": "00000",
    }  # fmt: skip
    assert history_length(data, "186") == 2
    frame = data.interactions.to_frame()
    assert frame["item_id"].tolist() == ["1", "2", "3", "1", "1", "3"]  # file order
    assert frame["timestamp"].iloc[0] == 881250949


def test_grouplens_100k_without_users(ml100k_folder: Path) -> None:
    (ml100k_folder / "u.user").unlink()
    assert load_grouplens_100k(ml100k_folder).user_table is None


def test_grouplens_100k_bad_rating(ml100k_folder: Path) -> None:
    write(ml100k_folder / "u.data", "196\t1\t3\t881250949\n186\t2\tfive\t891717742\n")
    with pytest.raises(DataError) as error:
        load_grouplens_100k(ml100k_folder)
    assert_error(error, "u.data", 2, "rating")


def test_grouplens_100k_short_record(ml100k_folder: Path) -> None:
    write(ml100k_folder / "u.data", "196\t1\t3\t881250949\n186\t2\t5\n")
    with pytest.raises(DataError) as error:
        load_grouplens_100k(ml100k_folder)
    assert_error(error, "u.data", 2, "timestamp")


def test_grouplens_100k_bad_genre_flag(ml100k_folder: Path) -> None:
    flags = GENRE_FLAGS["2"].replace("0|1|1", "0|1|x", 1)
    write(
        ml100k_folder / "u.item",
        f"1|Toy Story (1995)|||url|{GENRE_FLAGS['1']}\n2|GoldenEye (1995)|||url|{flags}\n",
    )
    with pytest.raises(DataError) as error:
        load_grouplens_100k(ml100k_folder)
    assert_error(error, "u.item", 2, "Adventure")


def test_grouplens_100k_missing_and_empty_file(ml100k_folder: Path) -> None:
    (ml100k_folder / "u.item").unlink()
    with pytest.raises(DataError, match="file not found") as error:
        load_grouplens_100k(ml100k_folder)
    assert_error(error, "u.item", None, None)
    write(ml100k_folder / "u.data", "")
    with pytest.raises(DataError, match="empty") as error:
        load_grouplens_100k(ml100k_folder)
    assert_error(error, "u.data", None, None)


# ----------------------------------------------------------------------------- MovieLens latest (CSV)


@pytest.fixture(scope="module")
def ml_latest(shared_data: Path) -> Dataset:
    return load_movielens_latest(shared_data / "ml-latest-small")


def test_movielens_latest_counts(ml_latest: Dataset) -> None:
    assert (ml_latest.n_users, ml_latest.n_items, len(ml_latest.interactions)) == (610, 9742, 100_836)
    assert ml_latest.summary()["items_with_interactions"] == 9724
    assert ml_latest.rating_scale == (0.5, 5.0)
    assert ml_latest.catalog.text_fields == ("title", "tags")
    assert ml_latest.interactions.has_timestamps
    assert sum(1 for c in ml_latest.catalog.categories if not c) == 34  # "(no genres listed)"


def test_movielens_latest_content(ml_latest: Dataset) -> None:
    row, categories = item_row(ml_latest, "1")
    assert row == {"title": "Toy Story", "year": "1995", "tags": "pixar, fun"}
    assert categories == ("Adventure", "Animation", "Children", "Comedy", "Fantasy")
    assert item_row(ml_latest, "60756")[0]["tags"] == "funny, highly quotable, will ferrell, comedy"
    assert history_length(ml_latest, "1") == 232
    frame = ml_latest.interactions.to_frame()
    assert frame.iloc[0].to_dict() == {"user_id": "1", "item_id": "1", "value": 4.0, "timestamp": 964982703.0}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Toy Story (1995)", ("Toy Story", "1995")),
        ("Justice League: Doom (2012) ", ("Justice League: Doom", "2012")),
        ("Assembly (Ji jie hao) (2007)", ("Assembly (Ji jie hao)", "2007")),
        ("Babylon 5", ("Babylon 5", "")),
        ("Death Note: Desu nôto (2006–2007)", ("Death Note: Desu nôto (2006–2007)", "")),
    ],
)
def test_split_title_year(title: str, expected: tuple[str, str]) -> None:
    assert split_title_year(title) == expected


MOVIES = 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,"Hyena Road",(no genres listed)\n'
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n2,1,5.0,964982224\n"


def ml_latest_folder(tmp_path: Path, ratings: str | bytes = RATINGS, movies: str | bytes = MOVIES) -> Path:
    folder = tmp_path / "ml-tiny"
    write(folder / "ratings.csv", ratings)
    write(folder / "movies.csv", movies)
    return folder


def test_movielens_latest_tiny_without_tags(tmp_path: Path) -> None:
    data = load_movielens_latest(ml_latest_folder(tmp_path))
    assert data.name == "ml-tiny"
    assert data.catalog.text_fields == ("title",)
    assert item_row(data, "2") == ({"title": "Hyena Road", "year": ""}, ())


def test_movielens_latest_missing_column(tmp_path: Path) -> None:
    folder = ml_latest_folder(tmp_path, ratings="userId,movieId,timestamp\n1,1,964982703\n")
    with pytest.raises(DataError, match="rating") as error:
        load_movielens_latest(folder)
    assert_error(error, "ratings.csv", 1, None)


def test_movielens_latest_non_numeric_rating(tmp_path: Path) -> None:
    folder = ml_latest_folder(tmp_path, ratings=RATINGS.replace("3.5", "three"))
    with pytest.raises(DataError, match="'three' is not a number") as error:
        load_movielens_latest(folder)
    assert_error(error, "ratings.csv", 3, "rating")


def test_movielens_latest_latin1_in_utf8_file(tmp_path: Path) -> None:
    movies = MOVIES.encode() + "3,Café Society (2016),Comedy\n".encode("latin-1")
    with pytest.raises(DataError, match="not valid utf-8") as error:
        load_movielens_latest(ml_latest_folder(tmp_path, movies=movies))
    assert_error(error, "movies.csv", 4, None)


def test_movielens_latest_conflicting_movie_rows(tmp_path: Path) -> None:
    movies = MOVIES + "1,Toy Story 2 (1999),Animation\n"
    with pytest.raises(DataError, match="described twice") as error:
        load_movielens_latest(ml_latest_folder(tmp_path, movies=movies))
    assert_error(error, "movies.csv", 4, "movieId")


def test_movielens_latest_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty") as error:
        load_movielens_latest(ml_latest_folder(tmp_path, ratings=""))
    assert_error(error, "ratings.csv", None, None)
    with pytest.raises(DataError, match="no data rows") as error:
        load_movielens_latest(ml_latest_folder(tmp_path, ratings="userId,movieId,rating,timestamp\n"))
    assert_error(error, "ratings.csv", None, None)


# ----------------------------------------------------------------------------- Amazon 2018


@pytest.fixture(scope="module")
def amazon(shared_data: Path) -> Dataset:
    return load_amazon_2018(shared_data / "amazon-gift-cards-2018")


def test_amazon_counts(amazon: Dataset) -> None:
    assert (amazon.n_users, amazon.n_items, len(amazon.interactions)) == (458, 1547, 2965)
    assert amazon.summary()["items_with_interactions"] == 148
    assert amazon.rating_scale == (1.0, 5.0)
    assert amazon.catalog.text_fields == ("title", "brand", "description", "features")


def test_amazon_content(amazon: Dataset) -> None:
    row, categories = item_row(amazon, "B004LLIKVU")
    assert row["title"] == "Amazon eGift Card"
    assert categories == ("Gift Cards",)  # ["Gift Cards", "Gift Cards"] without the repeat
    table = amazon.catalog.table
    assert "Maggiano's Gift Card" in set(table["title"])  # ' Maggiano&#39;s Gift Card'
    assert not table["description"].str.contains("<").any()
    assert (table["description"] != "").sum() == 805
    assert "AMAZON FASHION" in set(table["main_cat"])  # from an <img alt="..."> value
    assert history_length(amazon, "A31UBHTUUIFJUT") == 9


def test_clean_html() -> None:
    assert clean_html('<div class="aplus"> <br>Gift&nbsp;cards &amp; more<br/></div>') == "Gift cards & more"


def amazon_folder(tmp_path: Path, reviews: list[str], meta: list[str] | None = None) -> Path:
    folder = tmp_path / "amazon"
    folder.mkdir(parents=True)
    write_json_lines(folder / "Gift_Cards_5.json.gz", reviews)
    if meta is not None:
        write_json_lines(folder / "meta_Gift_Cards.json.gz", meta)
    return folder


def review(user: str = "U1", item: str = "A1", overall: object = 5.0, time: object = 1529193600) -> str:
    return json.dumps({"reviewerID": user, "asin": item, "overall": overall, "unixReviewTime": time})


def test_amazon_tiny_cold_items(tmp_path: Path) -> None:
    meta = [
        json.dumps(
            {
                "asin": "A1",
                "title": "Card",
                "description": ["<b>Nice</b>", "two"],
                "category": ["X", "X", "Y"],
            }
        ),
        json.dumps({"asin": "A9", "title": "Never reviewed", "feature": ["f1", "f2"]}),
    ]
    data = load_amazon_2018(amazon_folder(tmp_path, [review(), review("U2", "A1", 4.0)], meta))
    assert (data.n_users, data.n_items, len(data.interactions)) == (2, 2, 2)
    assert item_row(data, "A1")[0]["description"] == "Nice two"
    assert item_row(data, "A1")[1] == ("X", "Y")
    assert item_row(data, "A9")[0]["features"] == "f1; f2"


def test_amazon_invalid_json(tmp_path: Path) -> None:
    broken = '{"reviewerID": "U2", "asin": "A1", "overall": 5.0,'
    folder = amazon_folder(tmp_path, [review(), broken, review("U3")])
    with pytest.raises(DataError, match="invalid JSON") as error:
        load_amazon_2018(folder)
    assert_error(error, "Gift_Cards_5.json.gz", 2, None)


def test_amazon_missing_key(tmp_path: Path) -> None:
    broken = json.dumps({"reviewerID": "U2", "asin": "A1", "unixReviewTime": 1})
    with pytest.raises(DataError, match="missing") as error:
        load_amazon_2018(amazon_folder(tmp_path, [review(), review("U3"), broken]))
    assert_error(error, "Gift_Cards_5.json.gz", 3, "overall")


def test_amazon_non_numeric_rating(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'five' is not a number") as error:
        load_amazon_2018(amazon_folder(tmp_path, [review(), review("U2", overall="five")]))
    assert_error(error, "Gift_Cards_5.json.gz", 2, "overall")


def test_amazon_bad_meta(tmp_path: Path) -> None:
    meta = [json.dumps({"asin": "A1", "title": "ok"}), json.dumps({"asin": "A2", "description": {"a": 1}})]
    with pytest.raises(DataError, match="list of strings") as error:
        load_amazon_2018(amazon_folder(tmp_path, [review()], meta))
    assert_error(error, "meta_Gift_Cards.json.gz", 2, "description")
    conflicting = [json.dumps({"asin": "A1", "title": "one"}), json.dumps({"asin": "A1", "title": "two"})]
    with pytest.raises(DataError, match="described twice") as error:
        load_amazon_2018(amazon_folder(tmp_path / "b", [review()], conflicting))
    assert_error(error, "meta_Gift_Cards.json.gz", 2, "item_id")


def test_amazon_latin1_and_empty(tmp_path: Path) -> None:
    folder = tmp_path / "amazon"
    folder.mkdir()
    text = (review() + "\n").encode() + '{"reviewerID": "Café"}\n'.encode("latin-1")
    (folder / "Gift_Cards_5.json.gz").write_bytes(gzip.compress(text))
    with pytest.raises(DataError, match="not valid utf-8") as error:
        load_amazon_2018(folder)
    assert_error(error, "Gift_Cards_5.json.gz", 2, None)
    (folder / "Gift_Cards_5.json.gz").write_bytes(gzip.compress(b"\n"))
    with pytest.raises(DataError, match="no data") as error:
        load_amazon_2018(folder)
    assert_error(error, "Gift_Cards_5.json.gz", None, None)


# ----------------------------------------------------------------------------- CrossCBR (Youshu)


@pytest.fixture(scope="module")
def youshu(shared_data: Path) -> Dataset:
    return load_crosscbr(shared_data / "youshu")


def test_youshu_counts(youshu: Dataset) -> None:
    assert (youshu.n_users, youshu.n_items, len(youshu.interactions)) == (8039, 32_770, 138_515)
    assert youshu.summary()["items_with_interactions"] == 21_034
    assert not youshu.interactions.has_timestamps
    assert youshu.rating_scale is None
    assert youshu.catalog.text_fields == ()
    bundles = youshu.bundles
    assert bundles is not None
    assert len(bundles) == 4771
    assert bundles.membership.shape == (4771, 32_770)
    assert bundles.membership.nnz == 176_667
    assert {k: len(v) for k, v in bundles.user_bundles.items()} == {
        "train": 34_416,
        "tune": 5189,
        "test": 9746,
    }
    all_pairs = np.concatenate(list(bundles.user_bundles.values()))
    assert all_pairs.dtype == np.int32
    assert len(np.unique(all_pairs[:, 0])) == 2959


def test_youshu_content(youshu: Dataset) -> None:
    bundles = youshu.bundles
    assert bundles is not None
    train = bundles.user_bundles["train"]
    assert youshu.interactions.user_ids.to_external(train[:3, 0]).tolist() == ["0", "0", "0"]
    assert bundles.bundle_ids.to_external(train[:3, 1]).tolist() == ["2382", "3026", "230"]
    first_bundle = bundle_members(youshu, "0")
    assert len(first_bundle) == 12
    assert "32604" in first_bundle
    assert history_length(youshu, "1") == 3


def crosscbr_folder(tmp_path: Path, user_item: str = "0\t11\n1\t2\n1\t10\n") -> Path:
    folder = tmp_path / "tiny"
    write(folder / "Tiny_data_size.txt", "3\t2\t12\n")
    write(folder / "user_item.txt", user_item)
    write(folder / "bundle_item.txt", "0\t2\n0\t11\n1\t10\n")
    write(folder / "user_bundle_train.txt", "0\t1\n")
    write(folder / "user_bundle_tune.txt", "1\t0\n")
    write(folder / "user_bundle_test.txt", "2\t1\n")
    return folder


def test_crosscbr_tiny_index_mapping(tmp_path: Path) -> None:
    data = load_crosscbr(crosscbr_folder(tmp_path), "Tiny")
    assert data.name == "tiny"
    assert (data.n_users, data.n_items, len(data.interactions)) == (3, 12, 3)  # ids from the size file
    bundles = data.bundles
    assert bundles is not None
    assert {bid: bundle_members(data, bid) for bid in ("0", "1")} == {"0": ["11", "2"], "1": ["10"]}
    test_pairs = bundles.user_bundles["test"]
    assert data.interactions.user_ids.to_external(test_pairs[:, 0]).tolist() == ["2"]
    assert bundles.bundle_ids.to_external(test_pairs[:, 1]).tolist() == ["1"]


def test_crosscbr_id_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"outside 0\.\.11") as error:
        load_crosscbr(crosscbr_folder(tmp_path, "0\t11\n1\t12\n"), "Tiny")
    assert_error(error, "user_item.txt", 2, "item_id")


def test_crosscbr_non_integer_id(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_crosscbr(crosscbr_folder(tmp_path, "0\t11\n1\t2\nx\t3\n"), "Tiny")
    assert_error(error, "user_item.txt", 3, "user_id")
    with pytest.raises(DataError, match="not an integer") as error:
        load_crosscbr(crosscbr_folder(tmp_path, "0\t1.5\n"), "Tiny")
    assert_error(error, "user_item.txt", 1, "item_id")


def test_crosscbr_bad_files(tmp_path: Path) -> None:
    folder = crosscbr_folder(tmp_path)
    write(folder / "Tiny_data_size.txt", "3 two 12\n")
    with pytest.raises(DataError, match="three non-negative integers") as error:
        load_crosscbr(folder, "Tiny")
    assert_error(error, "Tiny_data_size.txt", 1, None)
    with pytest.raises(DataError, match="file not found") as error:
        load_crosscbr(folder, "Other")
    assert_error(error, "Other_data_size.txt", None, None)
    folder = crosscbr_folder(tmp_path / "b")
    write(folder / "user_bundle_tune.txt", "")
    with pytest.raises(DataError, match="empty") as error:
        load_crosscbr(folder, "Tiny")
    assert_error(error, "user_bundle_tune.txt", None, None)
    write(folder / "user_bundle_tune.txt", "1\t0\n2\n")
    with pytest.raises(DataError, match="empty id") as error:
        load_crosscbr(folder, "Tiny")
    assert_error(error, "user_bundle_tune.txt", 2, "bundle_id")


# ----------------------------------------------------------------------------- BundleRec


BUNDLEREC_EXPECTED = {
    # domain: (users, items, distinct U-I pairs, bundles, U-I rows)
    "electronic": (888, 3499, 4461, 1750, 6165),
    "clothing": (965, 4487, 4653, 1910, 6326),
    "food": (879, 3767, 4619, 1784, 6395),
}


@pytest.mark.parametrize("domain", sorted(BUNDLEREC_EXPECTED))
def test_bundlerec_counts(shared_data: Path, domain: str) -> None:
    users, items, pairs, n_bundles, rows = BUNDLEREC_EXPECTED[domain]
    data = load_bundlerec(shared_data / "bundlerec-mturk" / domain)
    assert data.name == f"bundlerec-{domain}"
    assert (data.n_users, data.n_items, len(data.interactions)) == (users, items, pairs)
    assert data.catalog.text_fields == ("title",)
    bundles = data.bundles
    assert bundles is not None
    assert len(bundles) == n_bundles
    assert bundles.membership.shape == (n_bundles, items)
    assert bundles.membership.nnz == rows  # user_item rows = bundle_item rows
    assert bundles.user_bundles["all"].shape == (n_bundles, 2)
    assert len(bundles.names) == n_bundles
    assert not any("&amp;" in title for title in data.catalog.table["title"])


def test_bundlerec_food_content(shared_data: Path) -> None:
    data = load_bundlerec(shared_data / "bundlerec-mturk" / "food")
    row, categories = item_row(data, "9")
    expected = "Stash Tea Fusion Red, White & Blueberry Tea, 18 Count Tea Bags in Foil (Pack of 6)"
    assert row["title"] == expected
    assert categories == ("Grocery & Gourmet Food", "Beverages", "Coffee, Tea & Cocoa", "Tea", "White")
    assert item_row(data, "54323")[1] == ()  # "[[]]"
    bundles = data.bundles
    assert bundles is not None
    assert bundles.names[bundles.bundle_ids.index("0")] == "Asian food products"
    assert bundles.names[bundles.bundle_ids.index("2")] == "Furikake"
    assert bundle_members(data, "0")[:3] == ["44028", "54397", "54398"]
    assert history_length(data, "0") == 2


def test_parse_category_paths() -> None:
    value = "[[Clothing, Shoes & Jewelry,Women],[Clothing, Shoes & Jewelry,B,Bella]]"
    assert parse_category_paths(value) == ("Clothing, Shoes & Jewelry", "Women", "B", "Bella")
    assert parse_category_paths("[[]]") == ()
    assert parse_category_paths("Electronics") is None


def bundlerec_folder(tmp_path: Path, **overrides: str) -> Path:
    files = {
        "user_item.csv": "user ID,item ID,timestamp\n0,10,1392249600\n0,11,1392249600\n0,10,1392249600\n",
        "item_titles.csv": 'item ID,titles\n10,"Salt &amp; Pepper"\n11,Tea\n',
        "item_categories.csv": 'item ID,categories\n10,"[[Grocery,Spices, Herbs]]"\n11,"[[Grocery,Tea]]"\n',
        "bundle_item.csv": "bundle ID,item ID\n0,10\n0,11\n",
        "bundle_intent.csv": 'bundle ID,intent\n0,"\nSeasoning and tea "\n',
        "user_bundle.csv": "user ID,bundle ID,timestamp\n0,0,1392249600\n",
    }
    files.update({name.replace("_csv", ".csv"): text for name, text in overrides.items()})
    folder = tmp_path / "tiny"
    for name, text in files.items():
        write(folder / name, text)
    return folder


def test_bundlerec_tiny(tmp_path: Path) -> None:
    data = load_bundlerec(bundlerec_folder(tmp_path))
    assert len(data.interactions) == 2  # the exact repeat is reduced
    assert item_row(data, "10") == ({"title": "Salt & Pepper"}, ("Grocery", "Spices, Herbs"))
    assert data.bundles is not None
    assert data.bundles.names == ("Seasoning and tea",)


def test_bundlerec_missing_column(tmp_path: Path) -> None:
    folder = bundlerec_folder(tmp_path, bundle_item_csv="bundle,item ID\n0,10\n")
    with pytest.raises(DataError, match="bundle ID") as error:
        load_bundlerec(folder)
    assert_error(error, "bundle_item.csv", 1, None)


def test_bundlerec_bad_timestamp(tmp_path: Path) -> None:
    rows = "user ID,item ID,timestamp\n0,10,1392249600\n0,11,soon\n"
    folder = bundlerec_folder(tmp_path, user_item_csv=rows)
    with pytest.raises(DataError, match="'soon' is not a number") as error:
        load_bundlerec(folder)
    assert_error(error, "user_item.csv", 3, "timestamp")


def test_bundlerec_bad_categories(tmp_path: Path) -> None:
    folder = bundlerec_folder(tmp_path, item_categories_csv="item ID,categories\n10,[[Grocery]]\n11,Tea\n")
    with pytest.raises(DataError, match="category paths") as error:
        load_bundlerec(folder)
    assert_error(error, "item_categories.csv", 3, "categories")


def test_bundlerec_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty") as error:
        load_bundlerec(bundlerec_folder(tmp_path, user_bundle_csv=""))
    assert_error(error, "user_bundle.csv", None, None)


# ----------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", REGISTERED)
def test_load_dataset_from_registry(name: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_HOME_ENV, str(shared_data))
    data = load_dataset(name, download=False)  # files are present: nothing to download
    assert data.name == name
    assert (data.n_users, data.n_items, len(data.interactions)) == EXPECTED_COUNTS[name]


def test_registry_folders(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_HOME_ENV, str(shared_data))
    assert dataset_dir("youshu") == shared_data / "youshu"
    assert dataset_dir("bundlerec-food") == shared_data / "bundlerec-mturk"
    assert spec_of("bundlerec-food").files[0].path == "food/user_item.csv"


@pytest.mark.parametrize(
    ("name", "path"), [(name, remote.path) for name in REGISTERED for remote in spec_of(name).files]
)
def test_registered_checksums(name: str, path: str, shared_data: Path) -> None:
    spec = spec_of(name)
    remote = next(f for f in spec.files if f.path == path)
    assert remote.url.startswith("https://raw.githubusercontent.com/")
    assert remote.url.endswith("/" + path)
    assert sha256_of(shared_data / spec.folder_name / path) == remote.sha256
