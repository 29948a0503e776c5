"""Item search: BM25 over the item text, dense retrieval with the item vectors, fusion, personalisation, diversity."""
