"""What storage raises that its callers act on (besides table.py's write conflicts)."""

from __future__ import annotations


class UnknownInvestigation(Exception):
    """The tenant has no posted investigation with this id (no `SEEN` marker): nothing was written."""
