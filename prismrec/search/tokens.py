"""Query and document tokens for lexical search: lower-cased words, Chinese segmented with jieba.

Latin-script text splits on anything that is not a letter or digit and drops English stop words;
runs of CJK characters are segmented with jieba (a dictionary-based Chinese word segmenter), whose
words are kept as they are.
"""

from __future__ import annotations

import logging
import re

from bm25s.stopwords import STOPWORDS_EN

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Tokens of one text, in order (duplicates kept: BM25 counts them)."""
    tokens: list[str] = []
    position = 0
    for run in CJK_RUN.finditer(text):
        tokens.extend(_words(text[position : run.start()]))
        tokens.extend(word for word in _segment(run.group()) if word.strip())
        position = run.end()
    tokens.extend(_words(text[position:]))
    return tokens


def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if w not in STOPWORDS]


def _segment(run: str) -> list[str]:
    import jieba  # late: loads its dictionary (about a second) the first time Chinese text is seen

    jieba.setLogLevel(logging.WARNING)
    return jieba.lcut(run)
