"""Outbound event ids: derived from what the event reports, so that every retry of the same change yields the same id.

A Slack retry of a click, a retried transaction and a stream batch replayed after a failure all carry the id of
the change they repeat; consumers de-duplicate on it (CONTRACT.md, "Outbound events"). Pure.
"""

from __future__ import annotations

import uuid

# Fixed for good: changing it would give already published changes new ids.
_NAMESPACE = uuid.UUID("6f1d3c0e-2b8a-5b4e-9a51-5ac1a5e0e7a1")


def _derived(*parts: str | int) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(part) for part in parts)))


def feedback_event_id(tenant_id: str, investigation_id: str, user_id: str, changes: int, comment_seq: int = 0) -> str:
    """One rating of a user (`changes`: the rating row's change counter), or a comment added to it (`comment_seq`)."""
    return _derived("feedback.recorded", tenant_id, investigation_id, user_id, changes, comment_seq)


def acknowledged_event_id(tenant_id: str, investigation_id: str) -> str:
    """An investigation is acknowledged once."""
    return _derived("investigation.acknowledged", tenant_id, investigation_id)


def reinvestigation_event_id(tenant_id: str, investigation_id: str, user_id: str, click: str) -> str:
    """One request; `click` identifies the click itself (Slack's `action_ts`, the same in its retries)."""
    return _derived("investigation.reinvestigation_requested", tenant_id, investigation_id, user_id, click)
