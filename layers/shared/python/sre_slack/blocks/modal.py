"""The "Needs Improvement" modal: what was wrong (a choice) and, optionally, what we should have said.

Opened with `views.open` straight after the click (the trigger id works once and only for 3 s), before the
rating is written. The rating itself is recorded by the click; submitting adds the reason and the comment to
that row, and closing the modal keeps the rating as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sre_slack.contracts.buttons import ModalContext
from sre_slack.contracts.slack_payloads import View

CALLBACK_ID = "feedback_needs_improvement"
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
DETAILS_BLOCK = "details"
DETAILS_ACTION = "details"
DETAILS_MAX = 2000
REASONS: dict[str, str] = {
    "wrong_root_cause": "Wrong root cause",
    "missing_context": "Missing context",
    "wrong_commands": "Wrong commands",
    "other": "Other",
}


@dataclass(frozen=True)
class Submission:
    reason: str
    details: str | None


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}


def build_view(context: ModalContext) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": context.encode(),
        # So that closing the modal reaches us too (view_closed), and the log shows the rater left it.
        "notify_on_close": True,
        "title": {"type": "plain_text", "text": "Needs improvement"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {"type": "context", "block_id": "intro", "elements": [{
                "type": "mrkdwn",
                "text": "Your rating is saved. Telling us what was wrong helps the next investigation.",
            }]},
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "What was wrong?"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": REASON_ACTION,
                    "options": [_option(value, label) for value, label in REASONS.items()],
                },
            },
            {
                "type": "input",
                "block_id": DETAILS_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "What should it have said?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": DETAILS_ACTION,
                    "multiline": True,
                    "max_length": DETAILS_MAX,
                    "placeholder": {"type": "plain_text", "text": "e.g. the cause was the node pool, not the limit"},
                },
            },
        ],
    }


def open_modal(token: str, trigger_id: str, context: ModalContext) -> str:
    """views.open; returns the view id. Raises the Slack error (the caller logs it and carries on)."""
    from sre_slack.slack.client import write_client

    # views.open is not idempotent either (a retried call would hit an already used trigger): no retries.
    response = write_client(token, timeout=2).views_open(trigger_id=trigger_id, view=build_view(context))
    return str((response.get("view") or {}).get("id") or "")


def read_submission(view: View) -> Submission | dict[str, str]:
    """The reason and details entered, or the errors to show next to the inputs ({block_id: message})."""
    values = view.state.values
    chosen = (values.get(REASON_BLOCK, {}).get(REASON_ACTION) or {}).get("selected_option") or {}
    reason = chosen.get("value") if isinstance(chosen, dict) else None
    raw_details = (values.get(DETAILS_BLOCK, {}).get(DETAILS_ACTION) or {}).get("value")
    details = raw_details.strip() if isinstance(raw_details, str) and raw_details.strip() else None
    if reason not in REASONS:
        return {REASON_BLOCK: "Pick what was wrong."}
    if reason == "other" and details is None:
        return {DETAILS_BLOCK: "Tell us briefly what was wrong."}
    if details is not None and len(details) > DETAILS_MAX:
        return {DETAILS_BLOCK: f"Keep it under {DETAILS_MAX} characters."}
    return Submission(reason=str(reason), details=details)
