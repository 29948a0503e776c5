"""One router per resource: recommendations, items, events, search, bundles, admin."""
