"""Query and document tokens for lexical search: lower-cased, stemmed words; Chinese segmented with jieba.

Latin-script text splits on anything that is not a letter or digit, drops English stop words and
reduces each word to its Snowball (Porter 2) English stem (PyStemmer), so "aliens" finds "Alien";
runs of CJK characters are segmented with jieba (a dictionary-based Chinese word segmenter), whose
words are kept as they are.
"""

from __future__ import annotations

import logging
import re

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(STOPWORDS_EN)
STEMMER = Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Tokens of one text, in order (duplicates kept: BM25 counts them)."""
    return [token for token, _ in words_and_tokens(text)]


def words_and_tokens(text: str) -> list[tuple[str, str]]:
    """(token, the word as written) for every token of `text`, in order (the words name matches in reasons)."""
    pairs: list[tuple[str, str]] = []
    position = 0
    for run in CJK_RUN.finditer(text):
        pairs.extend(_latin(text[position : run.start()]))
        pairs.extend((word, word) for word in _segment(run.group()) if word.strip())
        position = run.end()
    pairs.extend(_latin(text[position:]))
    return pairs


def _latin(text: str) -> list[tuple[str, str]]:
    words = [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]
    return list(zip(STEMMER.stemWords(words), words, strict=True))


def _segment(run: str) -> list[str]:
    import jieba  # late: loads its dictionary (about a second) the first time Chinese text is seen

    jieba.setLogLevel(logging.WARNING)
    return jieba.lcut(run)
