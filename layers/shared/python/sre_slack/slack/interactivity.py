"""Answering a person who clicked: opening a modal (`views.open`) and an ephemeral note through the click's
`response_url`. Messages in channels are posted and edited by sre_slack.slack.poster only."""

from __future__ import annotations

from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from sre_slack.observability import get_logger
from sre_slack.slack.client import write_client

# A trigger id works once and only for 3 s; Slack wants the whole click answered within 3 s.
VIEWS_OPEN_TIMEOUT_SECONDS = 2
RESPONSE_URL_TIMEOUT_SECONDS = 2


def open_view(token: str, trigger_id: str, view: View) -> str:
    """views.open; returns the view id. Raises the Slack error (the caller logs it and carries on). Not retried:
    a retried call would hit an already used trigger."""
    response = write_client(token, timeout=VIEWS_OPEN_TIMEOUT_SECONDS).views_open(trigger_id=trigger_id, view=view)
    return str((response.get("view") or {}).get("id") or "")


def tell_user(response_url: str | None, text: str) -> bool:
    """An ephemeral note to the person who clicked (only they see it), best effort: False when it did not go."""
    if not response_url:
        return False
    try:
        WebhookClient(response_url, timeout=RESPONSE_URL_TIMEOUT_SECONDS).send(
            text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # nothing more can be done within the 3 s
        get_logger().warning("could not answer the person who clicked", error=type(exc).__name__)
        return False
    return True
