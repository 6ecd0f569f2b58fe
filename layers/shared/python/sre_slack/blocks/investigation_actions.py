"""What a reader can do about the investigation itself: Acknowledge, the overflow menu (Re-investigate) beside
the portal link, and the "Acknowledged by" line.

The row (block `portal`, the id it had when it held only the link) is `[Acknowledge] [View in portal] [⋯]`,
just above the rating buttons. The Acknowledge button's value names the investigation like the rating buttons
(`{"t", "i"}`, contracts.buttons). An overflow option's value holds at most 150 characters, too few for two ids
of up to 255: the Re-investigate option carries only its name, and the click handler reads the investigation
from the Acknowledge button of the same message (`investigation_in`).

The "Acknowledged by" line is a context line among the status lines under the title (after "Resolved at" and
the re-sent notice, just above the summary): posting renders it from the stored acknowledgement, and the click
handler inserts it into the blocks Slack sent (`with_acknowledged_line`), at the same place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InteractiveElement,
    Option,
    OverflowMenuElement,
)

from sre_slack.blocks.feedback_line import mention
from sre_slack.blocks.message import actions, button, context, plain
from sre_slack.blocks.text import slack_date
from sre_slack.contracts.buttons import FeedbackButtonValue

ROW_BLOCK_ID = "portal"
ACKNOWLEDGE_ACTION_ID = "acknowledge"
ACKNOWLEDGE_LABEL = "Acknowledge"
MENU_ACTION_ID = "investigation_menu"
REINVESTIGATE_OPTION = "reinvestigate"
REINVESTIGATE_LABEL = "Re-investigate"
ACKNOWLEDGED_BLOCK_ID = "acknowledged"
PORTAL_ACTION_ID = "open_portal"
PORTAL_BUTTON_TEXT = "View in portal"
# The line goes just above this block (the status lines end there).
_AFTER_STATUS_BLOCK_ID = "summary"
_TITLE_BLOCK_ID = "title"


@dataclass(frozen=True)
class Acknowledged:
    """Who acknowledged the investigation first, and when."""

    user_id: str
    at: datetime


def acknowledge_button(target: FeedbackButtonValue) -> ButtonElement:
    element = button(ACKNOWLEDGE_LABEL, action_id=ACKNOWLEDGE_ACTION_ID, value=target.encode())
    element.style = "primary"
    return element


def investigation_menu() -> OverflowMenuElement:
    """The overflow menu: Re-investigate, after a confirmation (it starts the engine's work again)."""
    return OverflowMenuElement(
        action_id=MENU_ACTION_ID,
        options=[Option(value=REINVESTIGATE_OPTION, text=plain(REINVESTIGATE_LABEL))],
        confirm=ConfirmObject(title=plain("Re-investigate?"),
                              text=plain("The investigation runs again; this message is updated when it completes."),
                              confirm=plain(REINVESTIGATE_LABEL), deny=plain("Cancel")),
    )


def investigation_actions(target: FeedbackButtonValue, portal_url: str | None) -> ActionsBlock:
    """`[Acknowledge] [View in portal] [⋯]`; without a portal URL, `[Acknowledge] [⋯]`."""
    elements: list[InteractiveElement] = [acknowledge_button(target)]
    if portal_url:
        # A link button still sends a block_actions payload; the interactions handler acknowledges it.
        elements.append(button(PORTAL_BUTTON_TEXT, action_id=PORTAL_ACTION_ID, url=portal_url))
    elements.append(investigation_menu())
    return actions(ROW_BLOCK_ID, elements)


def render_acknowledged(acknowledged: Acknowledged) -> str:
    """mrkdwn like "Acknowledged by <@U123> · 08:14" (the time in the reader's own time zone)."""
    who = mention(acknowledged.user_id) or "someone"
    return f"Acknowledged by {who} · {slack_date(acknowledged.at, '{time}')}"


def acknowledged_line(acknowledged: Acknowledged) -> ContextBlock:
    return context(render_acknowledged(acknowledged), block_id=ACKNOWLEDGED_BLOCK_ID)


def with_acknowledged_line(blocks: Sequence[dict[str, Any]], acknowledged: Acknowledged) -> list[dict[str, Any]]:
    """The message's blocks (JSON, as Slack sends them with a click) with the line put (or replaced) just above the
    summary, where posting renders it; every other block is kept exactly as it is."""
    kept = [block for block in blocks if block.get("block_id") != ACKNOWLEDGED_BLOCK_ID]
    ids = [block.get("block_id") for block in kept]
    if _AFTER_STATUS_BLOCK_ID in ids:
        position = ids.index(_AFTER_STATUS_BLOCK_ID)
    else:
        position = ids.index(_TITLE_BLOCK_ID) + 1 if _TITLE_BLOCK_ID in ids else 0
    return [*kept[:position], acknowledged_line(acknowledged).to_dict(), *kept[position:]]


def shown_acknowledged_line(blocks: Sequence[dict[str, Any]]) -> str | None:
    """The "Acknowledged by" line a message (JSON, as Slack sends it with a click) shows, or None."""
    for block in blocks:
        if block.get("block_id") == ACKNOWLEDGED_BLOCK_ID:
            elements = block.get("elements") or [{}]
            return str(elements[0].get("text", "")) if isinstance(elements[0], dict) else None
    return None


def investigation_in(blocks: Sequence[dict[str, Any]]) -> FeedbackButtonValue | None:
    """The investigation a message is about, read from its Acknowledge (or a rating) button; None if it has none."""
    for block in blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            action_id = str(element.get("action_id") or "") if isinstance(element, dict) else ""
            if action_id == ACKNOWLEDGE_ACTION_ID or action_id.startswith("feedback_"):
                target = FeedbackButtonValue.parse(element.get("value"))
                if target is not None:
                    return target
    return None
