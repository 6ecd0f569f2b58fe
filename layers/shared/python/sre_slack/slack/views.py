"""views.open: show a modal to the user whose click carried the trigger id.

The trigger id works once and only for 3 s, so the call is made straight after the click, with a short
timeout and without retries (a retried call would only meet an already used trigger).
"""

from __future__ import annotations

from slack_sdk.models.views import View

from sre_slack.slack.client import write_client

OPEN_TIMEOUT_SECONDS = 2


def open_view(token: str, trigger_id: str, view: View) -> str:
    """Open `view`; returns its view id. Raises the Slack error (the caller logs it and carries on)."""
    response = write_client(token, timeout=OPEN_TIMEOUT_SECONDS).views_open(trigger_id=trigger_id, view=view)
    return str((response.get("view") or {}).get("id") or "")
