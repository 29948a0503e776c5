"""Item text and vectors: templates, the packaged MiniLM encoder, TF-IDF, the embedding cache and kNN.

The MiniLM checks run the real packaged all-MiniLM-L6-v2 (loaded once for the module); the cache
checks count how many texts reach a fitted TF-IDF encoder. PRISMREC_CACHE_DIR points at a temporary
folder in every test, so nothing is written to ~/.cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prismrec.semantic.neighbours
import prismrec.semantic.sentence_transformer
import prismrec.semantic.tfidf
from prismrec.core.config import PipelineConfig
from prismrec.data.schema import Catalog, IdMap, build_catalog
from prismrec.errors import ConfigError
from prismrec.semantic import onnx_runtime
from prismrec.semantic.cache import EmbeddingCache, default_cache_dir
from prismrec.semantic.embed import embed_catalog
from prismrec.semantic.encoder import EncoderParams, make_encoder
from prismrec.semantic.neighbours import knn_similarity
from prismrec.semantic.precision import PrecisionChoice, choose, supported_modes
from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder
from prismrec.semantic.templates import clean, cut, item_texts
from prismrec.semantic.tfidf import TfidfEncoder

pytestmark = pytest.mark.usefixtures("cache_dir")




def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def corpus_hash(texts: list[str]) -> str:
    """The corpus part of a TF-IDF model id: the first 12 hex digits of sha1 of the texts joined by newlines."""
    return hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]


# ------------------------------------------------------------------ templates


def product_catalog() -> Catalog:
    """Three items: a full one, one with only an HTML title, one without title."""
    ids = IdMap(["a", "b", "c"])
    items = pd.DataFrame(
        {
            "item_id": ["c", "a", "b"],  # any row order: build_catalog aligns to the id map
            "title": ["", "Toy Story", "<b>Tea</b> &amp; more"],
            "year": ["2001", "1995", ""],
            "categories": [("Drama",), ("Animation", "Comedy"), ()],
            "description": ["x", "A <i>fun</i>\n  film", ""],
            "brand_name": ["", "Pixar", ""],
        }
    )
    return build_catalog(ids, items, ["title", "description", "brand_name"], "categories")


def test_default_template_reads_like_a_product_card() -> None:
    texts = item_texts(product_catalog())
    # a: title, year in brackets, then "." ; categories joined by ", " ; other text fields labelled
    #    (brand_name -> "Brand name"); tags and newlines inside the description are removed; every part
    #    ends with a full stop
    assert texts[0] == "Toy Story (1995). Categories: Animation, Comedy. Description: A fun film. Brand name: Pixar."
    # b: "<b>Tea</b> &amp; more" -> tags replaced by spaces, entity decoded, spaces collapsed; the empty
    #    year, categories, description and brand name leave no trace
    assert texts[1] == "Tea & more."
    # c: no title -> the year has nothing to attach to and is labelled
    assert texts[2] == "Year: 2001. Categories: Drama. Description: x."


def test_clean_strips_tags_entities_and_whitespace() -> None:
    # tags -> " ", then "&amp;" -> "&" and "&nbsp;" -> "\xa0", then every whitespace run -> one space, trimmed
    assert clean("<p>Fish &amp;&nbsp;chips</p>\n\t<br/>") == "Fish & chips"
    assert clean("<b>Tea</b> &amp; more") == "Tea & more"
    assert clean("1 &lt; 2") == "1 < 2"  # a decoded "<" is text, not the start of a tag


def test_parts_keep_their_own_punctuation() -> None:
    ids = IdMap(["x", "y"])
    items = pd.DataFrame(
        {
            "item_id": ["x", "y"],
            "title": ["Is it tea?", "绿茶礼盒。"],
            "year": ["2020", ""],
            "description": ["Yes!", "Ends with a dot."],
        }
    )
    catalog = build_catalog(ids, items, ["title", "description"], None)
    # x: "Is it tea?" keeps its "?", the year goes after it and that part gets the full stop;
    #    "Description: Yes!" keeps its "!" (no "!." )
    # y: the ideographic full stop "。" counts as punctuation; "Ends with a dot." is not doubled
    assert item_texts(catalog) == ["Is it tea? (2020). Description: Yes!", "绿茶礼盒。 Description: Ends with a dot."]


def test_cut_ends_on_a_word_boundary() -> None:
    text = "alpha beta gamma delta."  # 23 characters; spaces at 5, 10, 16
    assert cut(text, 23) == text  # short enough: unchanged
    assert cut(text, 16) == "alpha beta gamma"  # text[16] is a space: the first 16 characters are whole words
    assert cut(text, 14) == "alpha beta"  # "alpha beta gam" -> back to the space at 10 (10 > 14 // 2 = 7)
    # no space after the middle: a hard cut ("ab cdefghijklmno": the only space is at 2 <= 16 // 2 = 8)
    assert cut("ab cdefghijklmnopqrstuvwxyz", 16) == "ab cdefghijklmno"
    assert cut("abcdefghijklmnopqrstuvwxyz", 16) == "abcdefghijklmnop"


def test_item_texts_are_cut_at_max_chars() -> None:
    catalog = product_catalog()
    # a = "Toy Story (1995). Categories: ..."; "Toy Story (1995)" is 9 + 1 + 6 = 16 characters
    # max_chars=17: text[17] is the space after "(1995)." -> exactly the first sentence
    assert item_texts(catalog, max_chars=17)[0] == "Toy Story (1995)."
    # max_chars=16: text[16] is "." -> "Toy Story (1995)" is cut back to the space at 9 (9 > 16 // 2 = 8)
    assert item_texts(catalog, max_chars=16)[0] == "Toy Story"
    # b ("Tea & more.", 11 characters) and c are short or cut the same way
    assert item_texts(catalog, max_chars=16)[1] == "Tea & more."
    assert item_texts(catalog, max_chars=16)[2] == "Year: 2001."  # "Year: 2001. Cate" -> space at 11 > 8


def test_explicit_fields_set_the_order() -> None:
    catalog = product_catalog()
    # the year still attaches to the title part, although the brand comes first
    assert item_texts(catalog, ["brand_name", "title", "year"]) == [
        "Brand name: Pixar. Toy Story (1995).",
        "Tea & more.",
        "Year: 2001.",  # c has no title: the year is labelled
    ]
    assert item_texts(catalog, ["categories", "title"]) == [
        "Categories: Animation, Comedy. Toy Story.",
        "Tea & more.",
        "Categories: Drama.",
    ]
    # the encoder's `fields` parameter is a comma-separated list, spaces ignored
    params = EncoderParams(model="tfidf", fields=" brand_name, title ,year", cache=False)
    vectors, encoder = embed_catalog(catalog, params, progress=False)
    np.testing.assert_allclose(vectors, encoder.encode(item_texts(catalog, ["brand_name", "title", "year"])))


def test_unknown_field_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError) as error:
        item_texts(product_catalog(), ["title", "colour"])
    message = str(error.value)
    assert "['colour']" in message
    # "categories", then the table's columns in order (item_id is the index, categories were taken out)
    assert "['categories', 'title', 'year', 'description', 'brand_name']" in message


# ------------------------------------------------------------------ the packaged MiniLM


def test_minilm_gives_unit_rows_and_zero_rows_for_empty_texts(minilm: SentenceTransformerEncoder) -> None:
    vectors = minilm.encode(["Green tea leaves", "", "Trail running shoes", "  \n\t "])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), [1.0, 0.0, 1.0, 0.0], atol=1e-5)
    assert not vectors[1].any() and not vectors[3].any()  # exactly zero, not merely small
    assert minilm.dim == 384
    # only empty texts: no forward pass, zero rows of the right width
    only_empty = minilm.encode(["", " "])
    assert only_empty.shape == (2, 384) and not only_empty.any()
    assert minilm.encode([]).shape == (0, 384)
    # an empty text does not shift the others: same vector alone or in a batch
    np.testing.assert_allclose(vectors[2], minilm.encode(["Trail running shoes"])[0], atol=1e-5)


def test_minilm_knows_what_texts_mean(minilm: SentenceTransformerEncoder) -> None:
    shoes, sneakers, cake = minilm.encode(["cheap running shoes", "affordable sneakers for jogging",
                                           "chocolate cake recipe"])  # fmt: skip
    # measured: 0.81 for the paraphrase (no word in common) vs 0.04 for the unrelated text
    assert cosine(shoes, sneakers) > 0.6
    assert cosine(shoes, cake) < 0.3
    assert cosine(shoes, sneakers) - cosine(shoes, cake) > 0.4


def test_minilm_bf16_is_close_to_fp32(minilm: SentenceTransformerEncoder) -> None:
    bf16 = SentenceTransformerEncoder(precision="bf16")
    bf16._model = minilm._load()  # the same weights, not a second load; autocast is applied per call
    texts = ["cheap running shoes", "A green tea gift box with three flavours", "",
             "The quick brown fox jumps over the lazy dog."]  # fmt: skip
    full, half = minilm.encode(texts), bf16.encode(texts)
    assert half.shape == (4, 384) and half.dtype == np.float32
    filled = [0, 1, 3]
    # rows are unit vectors, so the row-wise dot product is the cosine (measured >= 0.99998)
    assert np.all(np.sum(full[filled] * half[filled], axis=1) >= 0.999)
    assert not half[2].any()
    assert not np.array_equal(full, half)  # autocast really ran: the rows are close, not bit-identical
    # the precision changes the vectors, so it is part of the cache key
    assert minilm.model_id != bf16.model_id
    assert minilm.model_id.endswith(":fp32") and bf16.model_id.endswith(":bf16")
    assert minilm.model_id.removesuffix(":fp32") == bf16.model_id.removesuffix(":bf16")


def test_bad_model_path_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ConfigError, match="no-such-model"):
        SentenceTransformerEncoder(str(missing))
    empty = tmp_path / "empty-model-folder"
    empty.mkdir()  # a folder, but without config.json / modules.json
    with pytest.raises(ConfigError) as error:
        make_encoder(EncoderParams(model=str(empty)))
    assert str(empty) in str(error.value)


# ------------------------------------------------------------------ TF-IDF

CORPUS = ["green tea leaves", "black tea gift box", "running shoes", "trail running shoes", "chocolate cake"]
# 11 words + 8 bigrams (green tea, tea leaves, black tea, tea gift, gift box, running shoes, trail running,
# chocolate cake) = 19 tf-idf features
CHINESE = ["绿茶 茶叶", "红茶 茶叶 礼盒", "运动鞋 跑步", "篮球 运动鞋", "巧克力 蛋糕"]


def test_tfidf_gives_unit_rows_with_dim_lsa_components() -> None:
    encoder = TfidfEncoder(dim=4).fit(CORPUS)  # 19 features > 4: LSA with 4 components
    vectors = encoder.encode(CORPUS)
    assert vectors.shape == (5, 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.model_id == f"tfidf:{corpus_hash(CORPUS)}:4"
    # more components than texts are not available: LSA is capped by the corpus size (5 texts)
    capped = TfidfEncoder(dim=8).fit(CORPUS)
    assert capped.encode(CORPUS).shape == (5, 5)
    assert capped.model_id == f"tfidf:{corpus_hash(CORPUS)}:5"


def test_tfidf_small_vocabulary_keeps_every_dimension() -> None:
    encoder = TfidfEncoder(dim=2).fit(["tea", "coffee"])  # 2 features <= 2: identity projection
    vectors = encoder.encode(["tea", "coffee", "tea coffee", "milk", ""])
    # vocabulary in alphabetical order: coffee = 0, tea = 1. Both words have the same idf
    # (ln((1 + 2) / (1 + 1)) + 1), tf = 1 + ln 1 = 1, and the bigram "tea coffee" is not in the vocabulary:
    # "tea coffee" -> (1, 1) / sqrt(2) = (0.7071068, 0.7071068); unknown and empty texts -> zero rows
    half = np.sqrt(0.5)
    np.testing.assert_allclose(vectors, [[0, 1], [1, 0], [half, half], [0, 0], [0, 0]], atol=1e-6)
    assert encoder.model_id == f"tfidf:{corpus_hash(['tea', 'coffee'])}:2"
    assert TfidfEncoder().fit(["tea", "coffee"]).model_id == encoder.model_id  # dim 256: the same 2 dimensions

    # exactly dim features is still small: 3 features, dim 3 -> identity (LSA on 2 texts would give 2 components)
    encoder = TfidfEncoder(dim=3).fit(["tea", "tea coffee"])
    assert encoder.model_id == f"tfidf:{corpus_hash(['tea', 'tea coffee'])}:3"
    # vocabulary: coffee = 0, tea = 1, "tea coffee" = 2; 2 texts: idf = ln(3 / (1 + df)) + 1, so tea (df 2)
    # -> ln 1 + 1 = 1 and coffee, "tea coffee" (df 1) -> ln 1.5 + 1 = 1.4054651.
    # "tea coffee" -> (1.4054651, 1, 1.4054651) / sqrt(2 * 1.9753322 + 1) = (...) / 2.2250088
    #              = (0.6316672, 0.4494364, 0.6316672)
    np.testing.assert_allclose(encoder.encode(["tea", "tea coffee", "coffee"]),
                               [[0, 1, 0], [0.6316672, 0.4494364, 0.6316672], [1, 0, 0]], atol=1e-6)  # fmt: skip


def test_tfidf_reads_chinese_characters() -> None:
    encoder = TfidfEncoder().fit(CHINESE)  # 34 features <= 256: identity projection, so cosines are exact
    green, black, shoes, shoe_text, tea = encoder.encode(["绿茶 茶叶", "红茶 茶叶 礼盒", "运动鞋 跑步", "跑步鞋", "茶"])
    np.testing.assert_allclose(np.linalg.norm([green, black, shoes], axis=1), 1.0, atol=1e-5)
    # green and black tea share the characters 茶 and 叶 (and the bigram "茶 叶"); green tea and running
    # shoes share no character, so their cosine is exactly 0 (measured: 0.51 vs 0)
    assert cosine(green, black) > 0.3
    assert green @ shoes == 0.0
    # single characters are tokens: "跑步鞋" and "茶" are not corpus words, but their characters are
    assert cosine(shoe_text, shoes) > 0.3 and shoe_text @ green == 0.0
    assert cosine(tea, green) > 0.3 and tea @ shoes == 0.0


def test_tfidf_empty_or_unknown_text_is_a_zero_row() -> None:
    encoder = TfidfEncoder(dim=4).fit(CORPUS)
    vectors = encoder.encode(["", "   ", "zebra quokka", "!!!", "tea"])
    assert vectors.shape == (5, 4)
    assert not vectors[:4].any()  # no known token: exactly zero
    assert np.linalg.norm(vectors[4]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("corpus", "hashed", "tea_row"),
    [
        # no text, or only empty texts: the one-word placeholder vocabulary {"empty"}, hashed as ["empty"]
        ([], ["empty"], [0.0]),
        (["", ""], ["empty"], [0.0]),
        ([" !!! ", "?"], [" !!! ", "?"], [0.0]),  # no token at all: the placeholder vocabulary
        (["tea", "tea"], ["tea", "tea"], [1.0]),  # one feature, "tea"
    ],
)
def test_tfidf_fits_degenerate_corpora(corpus: list[str], hashed: list[str], tea_row: list[float]) -> None:
    encoder = TfidfEncoder().fit(corpus)
    assert encoder.model_id == f"tfidf:{corpus_hash(hashed)}:1"  # 1 feature <= 256: 1 dimension
    vectors = encoder.encode(["", "tea", "coffee"])
    np.testing.assert_array_equal(vectors, [[0.0], tea_row, [0.0]])


def test_tfidf_model_id_depends_on_the_corpus() -> None:
    first = TfidfEncoder().fit(CHINESE).model_id
    assert first == f"tfidf:{corpus_hash(CHINESE)}:34"
    assert first == TfidfEncoder().fit(list(CHINESE)).model_id
    assert first != TfidfEncoder().fit(CHINESE[:-1]).model_id
    assert first != TfidfEncoder().fit([*CHINESE[:-1], "篮球 短裤"]).model_id  # same size, one text changed
    assert TfidfEncoder(dim=7).model_id == "tfidf:unfitted:7"
    assert make_encoder(EncoderParams(model="tfidf"), CHINESE).model_id == first


# ------------------------------------------------------------------ the embedding cache


class CountingEncode:
    """Wraps an encoder's `encode` and records every text it is asked to encode."""

    def __init__(self, encoder: TfidfEncoder) -> None:
        self.encoder = encoder
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.encoder.encode(texts)

    def take(self) -> list[str]:
        """The texts encoded since the last call."""
        texts, self.texts = self.texts, []
        return texts


@pytest.fixture
def tfidf() -> TfidfEncoder:
    return TfidfEncoder(dim=4).fit(CORPUS)


def test_cache_encodes_each_text_once_and_reuses_it(tfidf: TfidfEncoder, tmp_path: Path) -> None:
    counting = CountingEncode(tfidf)
    texts = ["green tea leaves", "running shoes", "green tea leaves", "chocolate cake"]
    first = EmbeddingCache(tmp_path).encode(tfidf.model_id, texts, counting, progress=False)
    assert counting.take() == ["green tea leaves", "running shoes", "chocolate cake"]  # the duplicate once
    assert first.shape == (4, 4) and first.dtype == np.float32
    np.testing.assert_allclose(first, tfidf.encode(texts), atol=1e-6)
    np.testing.assert_array_equal(first[0], first[2])

    again = EmbeddingCache(tmp_path).encode(tfidf.model_id, texts, counting, progress=False)  # a new instance
    assert counting.take() == []
    np.testing.assert_array_equal(again, first)

    changed = ["green tea leaves", "trail running shoes", "green tea leaves", "chocolate cake"]
    third = EmbeddingCache(tmp_path).encode(tfidf.model_id, changed, counting, progress=False)
    assert counting.take() == ["trail running shoes"]
    np.testing.assert_array_equal(third[[0, 2, 3]], first[[0, 2, 3]])
    np.testing.assert_allclose(third[1], tfidf.encode(["trail running shoes"])[0], atol=1e-6)
    # the old text is still stored: switching back encodes nothing
    np.testing.assert_array_equal(EmbeddingCache(tmp_path).encode(tfidf.model_id, texts, counting), first)
    assert counting.take() == []


def test_cache_rows_follow_the_input_order(tfidf: TfidfEncoder, tmp_path: Path) -> None:
    counting = CountingEncode(tfidf)
    cache = EmbeddingCache(tmp_path)
    forward = cache.encode(tfidf.model_id, CORPUS, counting, batch_size=2, progress=False)
    assert counting.take() == CORPUS  # in 3 batches of at most 2, in input order
    np.testing.assert_allclose(forward, tfidf.encode(CORPUS), atol=1e-6)
    backward = cache.encode(tfidf.model_id, CORPUS[::-1], counting, progress=False)
    assert counting.take() == []
    np.testing.assert_array_equal(backward, forward[::-1])
    picked = cache.encode(tfidf.model_id, [CORPUS[3], CORPUS[0], CORPUS[3]], counting, progress=False)
    np.testing.assert_array_equal(picked, forward[[3, 0, 3]])
    # cached and new texts mixed: the new one lands in its own place
    mixed = cache.encode(tfidf.model_id, [CORPUS[2], "black tea", CORPUS[0]], counting, progress=False)
    assert counting.take() == ["black tea"]
    np.testing.assert_array_equal(mixed[[0, 2]], forward[[2, 0]])
    np.testing.assert_allclose(mixed[1], tfidf.encode(["black tea"])[0], atol=1e-6)


def test_cache_files_are_plain_arrays(tfidf: TfidfEncoder, cache_dir: Path) -> None:
    EmbeddingCache().encode(tfidf.model_id, CORPUS[:3], CountingEncode(tfidf), progress=False)
    folder = EmbeddingCache().folder(tfidf.model_id)
    assert folder.parent == cache_dir == default_cache_dir()  # the default root is PRISMREC_CACHE_DIR
    keys = np.load(folder / "keys.npy", allow_pickle=False)
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    assert keys.dtype == np.dtype("S40") and vectors.dtype == np.float32
    assert keys.tolist() == [hashlib.sha1(t.encode()).hexdigest().encode() for t in CORPUS[:3]]
    np.testing.assert_allclose(vectors, tfidf.encode(CORPUS[:3]), atol=1e-6)
    # another model id gets another folder
    assert EmbeddingCache().folder(tfidf.model_id + "x") != folder


def test_damaged_cache_is_ignored_and_rebuilt(tfidf: TfidfEncoder, tmp_path: Path) -> None:
    counting = CountingEncode(tfidf)
    cache = EmbeddingCache(tmp_path)
    cache.encode(tfidf.model_id, CORPUS, counting, progress=False)
    counting.take()
    folder = cache.folder(tfidf.model_id)
    keys = np.load(folder / "keys.npy", allow_pickle=False)
    np.save(folder / "keys.npy", keys[:2])  # 2 keys for 5 vectors
    rebuilt = cache.encode(tfidf.model_id, CORPUS[:3], counting, progress=False)
    assert counting.take() == CORPUS[:3]  # nothing trusted: all three encoded again
    np.testing.assert_allclose(rebuilt, tfidf.encode(CORPUS[:3]), atol=1e-6)
    keys = np.load(folder / "keys.npy", allow_pickle=False)
    assert len(keys) == len(np.load(folder / "vectors.npy", allow_pickle=False)) == 3
    # the rebuilt pair is trusted again
    cache.encode(tfidf.model_id, CORPUS[:3], counting, progress=False)
    assert counting.take() == []


@pytest.fixture
def tfidf_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text any TfidfEncoder is asked to encode, in order."""
    calls: list[str] = []
    encode = TfidfEncoder.encode

    def counting(self: TfidfEncoder, texts: list[str]) -> np.ndarray:
        calls.extend(texts)
        return encode(self, texts)

    monkeypatch.setattr(prismrec.semantic.tfidf.TfidfEncoder, "encode", counting)
    return calls


def test_embed_catalog_goes_through_the_cache(tfidf_calls: list[str], tmp_path: Path) -> None:
    catalog = product_catalog()
    texts = item_texts(catalog)
    params = EncoderParams(model="tfidf", dim=2)  # far more than 2 features: LSA with 2 components
    vectors, encoder = embed_catalog(catalog, params, EmbeddingCache(tmp_path), progress=False)
    assert tfidf_calls == texts  # the 3 item texts, once each
    assert vectors.shape == (3, 2) and encoder.model_id.endswith(":2")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (EmbeddingCache(tmp_path).folder(encoder.model_id) / "vectors.npy").is_file()

    tfidf_calls.clear()
    again, refitted = embed_catalog(catalog, params, EmbeddingCache(tmp_path), progress=False)
    assert tfidf_calls == []  # the same corpus gives the same model id: every row comes from the cache
    assert refitted.model_id == encoder.model_id
    np.testing.assert_array_equal(again, vectors)


def test_embed_catalog_uses_the_default_cache(tfidf_calls: list[str], cache_dir: Path) -> None:
    _, encoder = embed_catalog(product_catalog(), EncoderParams(model="tfidf"), progress=False)
    assert len(tfidf_calls) == 3
    assert (cache_dir / EmbeddingCache().folder(encoder.model_id).name / "keys.npy").is_file()


def test_embed_catalog_without_cache_writes_nothing(tfidf_calls: list[str], tmp_path: Path, cache_dir: Path) -> None:
    catalog = product_catalog()
    params = EncoderParams(model="tfidf", cache=False)
    explicit = tmp_path / "explicit-cache"
    vectors, encoder = embed_catalog(catalog, params, EmbeddingCache(explicit), progress=False)
    assert tfidf_calls == item_texts(catalog)
    np.testing.assert_allclose(vectors, encoder.encode(item_texts(catalog)), atol=1e-6)
    embed_catalog(catalog, params, progress=False)
    assert not explicit.exists() and not cache_dir.exists()


# ------------------------------------------------------------------ semantic neighbours


def brute_knn(vectors: np.ndarray, k: int) -> np.ndarray:
    """Dense [n, n]: column i holds the cosines of i's k most similar other items, where positive."""
    similarity = vectors @ vectors.T
    n = len(vectors)
    out = np.zeros((n, n), dtype=np.float32)
    for i in range(n):
        others = sorted((j for j in range(n) if j != i), key=lambda j: -similarity[j, i])[:k]
        for j in others:
            if similarity[j, i] > 0:
                out[j, i] = similarity[j, i]
    return out


@pytest.mark.parametrize("block", [2048, 7])
@pytest.mark.parametrize("k", [1, 3, 10, 29, 100])
def test_knn_similarity_equals_brute_force(monkeypatch: pytest.MonkeyPatch, block: int, k: int) -> None:
    monkeypatch.setattr(prismrec.semantic.neighbours, "_BLOCK", block)  # 7: several blocks, a short last one
    rng = np.random.default_rng(k)
    vectors = rng.normal(size=(30, 5)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    matrix = knn_similarity(vectors, k)
    assert matrix.shape == (30, 30) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix.toarray(), brute_knn(vectors, k), atol=1e-6)
    assert np.all(matrix.diagonal() == 0) and np.all(matrix.data > 0)
    assert np.all(np.diff(matrix.tocsc().indptr) <= min(k, 29))


def test_knn_similarity_by_hand() -> None:
    vectors = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)
    # cosines: (0,1) 0.8, (0,2) 0, (0,3) -1, (1,2) 0.6, (1,3) -0.8, (2,3) 0
    one = knn_similarity(vectors, 1)
    # item 0: best other is 1 (0.8); item 1: 0 (0.8) beats 2 (0.6); item 2: 1 (0.6); item 3: all <= 0 -> nothing
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[1, 0], expected[0, 1], expected[1, 2] = 0.8, 0.8, 0.6
    np.testing.assert_allclose(one.toarray(), expected, atol=1e-6)
    assert one.nnz == 3  # item 3's best (item 2, cosine 0) is not stored, not even as an explicit zero
    two = knn_similarity(vectors, 2)
    # item 0: 1 (0.8), then 2 (0, dropped); item 1: 0 (0.8) and 2 (0.6); item 2: 1 (0.6), then 0 or 3 (0, dropped)
    expected[2, 1] = 0.6
    np.testing.assert_allclose(two.toarray(), expected, atol=1e-6)
    assert two.nnz == 4


# ------------------------------------------------------------------ precision modes: ONNX Runtime and "auto"

PRECISION_TEXTS = ["cheap running shoes", "A green tea gift box with three flavours", "",
                   "The quick brown fox jumps over the lazy dog.", "Fire Emblem: The Sacred Stones",
                   "GBA 6-Pak Care Case - Game Boy Advance", "word " * 400]  # fmt: skip
FILLED = [0, 1, 3, 4, 5, 6]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory, minilm: SentenceTransformerEncoder) -> Path:
    """A cache folder holding the exported + quantised MiniLM, built once for the test session."""
    pytest.importorskip("onnxruntime")
    folder = tmp_path_factory.mktemp("onnx-cache")
    encoder = SentenceTransformerEncoder(precision="onnx-int8", cache_root=folder)
    encoder._model = minilm._load()  # export from the already loaded weights
    encoder.encode(["build the ONNX files"])
    return folder


def onnx_encoder(precision: str, cache: Path, minilm: SentenceTransformerEncoder) -> SentenceTransformerEncoder:
    encoder = SentenceTransformerEncoder(precision=precision, cache_root=cache)
    encoder._model = minilm._load()
    return encoder


def test_onnx_int8_is_close_to_fp32(minilm: SentenceTransformerEncoder, onnx_cache: Path) -> None:
    full = minilm.encode(PRECISION_TEXTS)
    for precision, agreement in (("onnx-fp32", 0.9999), ("onnx-int8", 0.99)):
        encoder = onnx_encoder(precision, onnx_cache, minilm)
        vectors = encoder.encode(PRECISION_TEXTS)
        assert vectors.shape == (7, 384) and vectors.dtype == np.float32 and encoder.dim == 384
        # unit rows (mean pooling + L2 as sentence-transformers does), a zero row for the empty text
        np.testing.assert_allclose(np.linalg.norm(vectors[FILLED], axis=1), 1.0, atol=1e-5)
        assert not vectors[2].any()
        # rows are unit vectors: the row-wise dot product is the cosine (measured: int8 >= 0.993, fp32 1.0000)
        assert np.all(np.sum(full[FILLED] * vectors[FILLED], axis=1) >= agreement), precision
        # a text alone gives the vector it gets in a batch (length-sorted batches do not shift rows); int8
        # activations are quantised over the whole batch, so there its batch mates move it a little
        alone = encoder.encode([PRECISION_TEXTS[4]])[0]
        if precision == "onnx-fp32":
            np.testing.assert_allclose(alone, vectors[4], atol=1e-5)
        else:
            assert alone @ vectors[4] >= 0.99 and not np.allclose(alone, vectors[4], atol=1e-6)
        assert encoder.model_id.startswith(minilm.model_id.removesuffix(":fp32") + f":{precision}:")
    int8 = onnx_encoder("onnx-int8", onnx_cache, minilm).encode(PRECISION_TEXTS)
    assert not np.allclose(int8, full, atol=1e-4)  # really quantised: close, not equal


def test_onnx_files_are_built_once_and_keyed_by_versions(
    minilm: SentenceTransformerEncoder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = onnx_runtime.artifact_folder(minilm.base_id, onnx_cache)
    assert {p.name for p in folder.iterdir()} >= {"model-fp32.onnx", "model-int8.onnx", "meta.json", "tokenizer"}
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["export_min_cosine"] >= 0.9999 and meta["int8_weights_kept_fp32"] == 6  # one per layer

    def no_build(*args: object) -> None:
        raise AssertionError("the ONNX files were built again")

    monkeypatch.setattr(onnx_runtime, "_build", no_build)
    fresh = SentenceTransformerEncoder(precision="onnx-int8", cache_root=onnx_cache)  # no torch model given
    assert fresh.encode(["green tea"]).shape == (1, 384)
    assert fresh._model is None  # running the ONNX files needs no torch model

    key = onnx_runtime.artifact_key(minilm.base_id)
    monkeypatch.setattr(onnx_runtime, "package_version", lambda name: "0.0-other")
    assert onnx_runtime.artifact_key(minilm.base_id) != key  # other versions: other files, other cache key


def test_choose_never_picks_a_slower_or_disagreeing_mode() -> None:
    cos = {"fp32": 1.0, "bf16": 0.99998, "onnx-fp32": 1.0, "onnx-int8": 0.993}
    assert choose({"fp32": 100, "bf16": 300, "onnx-fp32": 250, "onnx-int8": 500}, cos)[0] == "onnx-int8"
    # int8 is fastest but below cosine 0.99: the next fastest agreeing mode
    assert choose({"fp32": 100, "bf16": 300, "onnx-int8": 500}, {**cos, "onnx-int8": 0.985})[0] == "bf16"
    # nothing beats fp32 by the margin (5%): fp32
    mode, reason = choose({"fp32": 100, "bf16": 104, "onnx-fp32": 90, "onnx-int8": 80}, cos)
    assert mode == "fp32" and "faster than fp32" in reason
    assert choose({"fp32": 100}, {"fp32": 1.0})[0] == "fp32"


def test_supported_modes_follow_the_cpu() -> None:
    epyc = {"model": "x", "flags": ["avx2", "avx512_bf16", "avx512_vnni"], "machine": "x86_64"}
    assert supported_modes(True, epyc) == ["fp32", "bf16", "onnx-fp32", "onnx-int8"]
    assert supported_modes(False, epyc) == ["fp32", "bf16"]  # no onnxruntime: torch only
    old = {"model": "y", "flags": ["avx2"], "machine": "x86_64"}
    assert supported_modes(True, old) == ["fp32", "onnx-fp32", "onnx-int8"]  # no native bf16: not measured


def test_auto_picks_no_mode_slower_than_fp32_and_records_it(
    minilm: SentenceTransformerEncoder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auto = onnx_encoder("auto", onnx_cache, minilm)
    mode = auto.precision
    choice = auto.choice
    assert choice is not None and mode == choice.mode and mode != "auto"
    assert set(choice.rates) == set(supported_modes(True)) and choice.rates["fp32"] > 0
    assert choice.rates[mode] >= choice.rates["fp32"]  # in its own measurement, never slower than fp32
    assert choice.cosines[mode] >= 0.99  # and agreeing with fp32 on the probe texts
    assert auto.model_id.endswith(f":{mode}") or f":{mode}:" in auto.model_id
    assert "auto" not in auto.model_id
    record = json.loads(auto._record_path().read_text())
    assert record["mode"] == mode and record["rates"] == choice.rates

    def no_measure(self: SentenceTransformerEncoder) -> None:
        raise AssertionError("measured again")

    monkeypatch.setattr(SentenceTransformerEncoder, "_measure", no_measure)
    again = onnx_encoder("auto", onnx_cache, minilm)  # the same config later: the recorded mode, same vectors
    assert again.precision == mode and again.model_id == auto.model_id
    np.testing.assert_array_equal(again.encode(PRECISION_TEXTS[:2]), auto.encode(PRECISION_TEXTS[:2]))
    # another batch size is another config: measured on its own (here: refused, as measuring is patched out)
    with pytest.raises(AssertionError, match="measured again"):
        _ = SentenceTransformerEncoder(batch_size=8, precision="auto", cache_root=onnx_cache).precision


def test_cache_keys_differ_per_resolved_precision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = {p: SentenceTransformerEncoder(precision=p, cache_root=tmp_path).model_id
           for p in ("fp32", "bf16", "onnx-fp32", "onnx-int8")}  # fmt: skip
    assert len(set(ids.values())) == 4
    assert len({EmbeddingCache(tmp_path).folder(i) for i in ids.values()}) == 4  # vectors never mix
    for precision in ("bf16", "onnx-int8"):  # "auto" is keyed by what it resolved to, never by "auto"
        fake = PrecisionChoice(precision, {"fp32": 1.0, precision: 2.0}, {"fp32": 1.0, precision: 1.0}, "test")
        monkeypatch.setattr(SentenceTransformerEncoder, "_measure", lambda self, c=fake: c)
        auto = SentenceTransformerEncoder(precision="auto", cache_root=tmp_path / precision)
        assert auto.model_id == ids[precision]
    assert SentenceTransformerEncoder(precision="auto", cache_root=tmp_path / "bf16").model_id == ids["bf16"]
    with pytest.raises(ConfigError, match="precision"):
        SentenceTransformerEncoder(precision="fp8")


def test_old_fp32_config_keeps_its_vectors(minilm: SentenceTransformerEncoder) -> None:
    assert EncoderParams().precision == "auto"  # the new default
    # a pipeline saved before "auto" existed wrote precision = "fp32" into its config.toml
    config = PipelineConfig.from_toml(Path(__file__).resolve().parents[1] / "configs" / "ml-100k-diverse.toml")
    assert config.encoder is not None and config.encoder.precision == "fp32"
    encoder = make_encoder(config.encoder)
    assert isinstance(encoder, SentenceTransformerEncoder)
    # the cache key is the one such pipelines were stored under: "st:<folder>:<fingerprint>:fp32"
    fingerprint = prismrec.semantic.sentence_transformer._fingerprint(encoder.folder)
    assert encoder.model_id == f"st:{encoder.folder.name}:{fingerprint}:fp32" == minilm.model_id
    assert encoder.precision == "fp32" and encoder.choice is None  # nothing measured
    encoder._model = minilm._load()
    texts = ["cheap running shoes", "Toy Story (1995). Categories: Animation, Children's, Comedy."]
    np.testing.assert_array_equal(encoder.encode(texts), minilm.encode(texts))  # torch fp32, as before
