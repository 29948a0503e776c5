"""Offline evaluation: protocols, accuracy and beyond-accuracy metrics, trade-off sweeps and reports."""
