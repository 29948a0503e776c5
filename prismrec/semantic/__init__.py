"""Item text -> meaning vectors: encoders (sentence-transformers, TF-IDF/LSA), text templates, cache."""
