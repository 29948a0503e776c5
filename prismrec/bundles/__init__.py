"""Bundles: recommend ready-made bundles to users and compose new ones."""
