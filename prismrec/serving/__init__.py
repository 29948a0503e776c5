"""The HTTP service: store, vector index, app."""
