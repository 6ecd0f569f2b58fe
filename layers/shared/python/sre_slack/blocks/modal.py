"""The "Needs Improvement" modal: what was wrong (a choice) and, optionally, what we should have said.

Opened with views.open (`sre_slack.slack.interactivity.open_view`) straight after the click (the trigger id works once
and only for 3 s), before the rating is written. The rating itself is recorded by the click; submitting adds
the reason and the comment to that row, and closing the modal keeps the rating as it is. `build_view` makes
the view; `read_submission` reads what the rater entered, or says what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import InputBlock, Option, PlainTextInputElement, PlainTextObject, RadioButtonsElement
from slack_sdk.models.views import View

from sre_slack.blocks.message import context, plain
from sre_slack.contracts.buttons import ModalContext
from sre_slack.contracts.slack_payloads import View as SubmittedView

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
    """What the rater entered: one of REASONS and, optionally, what the investigation should have said."""

    reason: str
    details: str | None


def build_view(origin: ModalContext) -> View:
    """The modal, carrying where it came from in its private_metadata."""
    reasons = [Option(value=value, text=plain(label)) for value, label in REASONS.items()]
    return View(
        type="modal",
        callback_id=CALLBACK_ID,
        private_metadata=origin.encode(),
        # So that closing the modal reaches us too (view_closed), and the log shows the rater left it.
        notify_on_close=True,
        title=PlainTextObject(text="Needs improvement"),
        submit=PlainTextObject(text="Send"),
        close=PlainTextObject(text="Skip"),
        blocks=[
            context("Your rating is saved. Telling us what was wrong helps the next investigation.", block_id="intro"),
            InputBlock(
                block_id=REASON_BLOCK,
                label=PlainTextObject(text="What was wrong?"),
                element=RadioButtonsElement(action_id=REASON_ACTION, options=reasons),
            ),
            InputBlock(
                block_id=DETAILS_BLOCK,
                optional=True,
                label=PlainTextObject(text="What should it have said?"),
                element=PlainTextInputElement(
                    action_id=DETAILS_ACTION,
                    multiline=True,
                    max_length=DETAILS_MAX,
                    placeholder=PlainTextObject(text="e.g. the cause was the node pool, not the limit"),
                ),
            ),
        ],
    )


def read_submission(view: SubmittedView) -> Submission | dict[str, str]:
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
