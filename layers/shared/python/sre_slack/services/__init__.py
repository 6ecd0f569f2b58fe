"""Use cases, one per module: what a handler calls."""
