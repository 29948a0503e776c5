"""The diversity stage: re-rankers that choose K of each user's top-M candidates."""
