"""BM25 over the item texts (bm25s), with the project's tokenizer (Chinese through jieba)."""

from __future__ import annotations

import numpy as np

from prismrec.search.tokens import tokenize, words_and_tokens


class LexicalIndex:
    """BM25 (Lucene variant, k1 = 1.5, b = 0.75) over one text per item.

    Args:
        texts: the text of every item, in item index order.
    """

    def __init__(self, texts: list[str]) -> None:
        import bm25s

        self.n_items = len(texts)
        self.retriever = bm25s.BM25()
        documents = [tokenize(text) or ["\u0000"] for text in texts]  # bm25s needs a token per document
        self.retriever.index(documents, show_progress=False)
        self.vocabulary = set(self.retriever.vocab_dict)

    def scores(self, query: str) -> np.ndarray:
        """float32[n_items] BM25 score of every item for the query (0 where no query term occurs)."""
        terms = [t for t in tokenize(query) if t in self.vocabulary]
        if not terms:
            return np.zeros(self.n_items, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)

    def matched_terms(self, query: str, text: str) -> list[str]:
        """The query's words (as written, lower-cased) whose token occurs in `text` (for reasons)."""
        tokens = set(tokenize(text))
        return list(dict.fromkeys(word for token, word in words_and_tokens(query) if token in tokens))
