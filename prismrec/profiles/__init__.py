"""User interest state: recency-weighted histories and the profiles built from them."""
