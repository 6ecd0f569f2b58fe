"""The feedback buttons and the "who rated it how" line, shared by posting and the click handler.

The investigation message ends with `feedback_actions` (one button per rating, labelled as CONTRACT.md words
them); the interactions handler reads a click back with `rating_for_action_id` and the button value with
`contracts.buttons.FeedbackButtonValue`, and answers it with `with_feedback_line`: the message as Slack sent
it with the click, the feedback line replaced. Both render `FeedbackSummary` the same way.

The button value carries only `{"t": tenant_id, "i": investigation_id}`: enough to find the investigation,
never a token. It is checked again on the way back in because anyone in the channel can craft a click.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock

from sre_slack.blocks.message import actions, button, context
from sre_slack.blocks.text import escape
from sre_slack.contracts.buttons import FeedbackButtonValue
from sre_slack.domain.ratings import RATING_LABELS, RATINGS, FeedbackSummary

FEEDBACK_BLOCK_ID = "feedback"
FEEDBACK_SUMMARY_BLOCK_ID = "feedback_summary"
_ACTION_PREFIX = "feedback_"

# Slack user ids: U… (or W… on Enterprise Grid). Anything else is not rendered as a mention.
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")


def action_id_for(rating: str) -> str:
    """`accurate` -> `feedback_accurate`."""
    if rating not in RATING_LABELS:
        raise ValueError(f"unknown rating {rating!r}")
    return _ACTION_PREFIX + rating


def rating_for_action_id(action_id: str) -> str | None:
    """`feedback_accurate` -> `accurate`; None for any other action (e.g. the portal link button)."""
    if not action_id.startswith(_ACTION_PREFIX):
        return None
    rating = action_id.removeprefix(_ACTION_PREFIX)
    return rating if rating in RATING_LABELS else None


def rating_buttons(target: FeedbackButtonValue) -> list[ButtonElement]:
    """One button per rating, in the contract's order, each naming the investigation in its value."""
    value = target.encode()
    return [button(RATING_LABELS[rating], action_id=action_id_for(rating), value=value) for rating in RATINGS]


def feedback_actions(target: FeedbackButtonValue) -> ActionsBlock:
    """The row of rating buttons; clicks on it arrive with `block_id` FEEDBACK_BLOCK_ID."""
    return actions(FEEDBACK_BLOCK_ID, rating_buttons(target))


def render_feedback_line(summary: FeedbackSummary) -> str | None:
    """mrkdwn like "Rated *Accurate* by <@U123> · 2 ratings: 1 Accurate, 1 Needs Improvement".

    None when nobody has rated yet.
    """
    total = summary.total
    if total == 0 and summary.latest_rating not in RATING_LABELS:
        return None
    parts: list[str] = []
    if summary.latest_rating in RATING_LABELS:
        rater = mention(summary.latest_user_id)
        parts.append(f"Rated *{RATING_LABELS[summary.latest_rating]}*" + (f" by {rater}" if rater else ""))
    if total > 1 or not parts:
        breakdown = ", ".join(
            f"{summary.counts[rating]} {RATING_LABELS[rating]}"
            for rating in RATINGS
            if summary.counts.get(rating, 0) > 0
        )
        noun = "rating" if total == 1 else "ratings"
        parts.append(f"{total} {noun}: {breakdown}" if breakdown else f"{total} {noun}")
    line = " · ".join(parts)
    if summary.before_revision:
        # The analysis they rated has since been revised: they stay, marked.
        line += (" (before revision)" if summary.before_revision >= total
                 else f" ({summary.before_revision} before revision)")
    return line


def feedback_context_block(summary: FeedbackSummary) -> ContextBlock | None:
    """The context block holding the feedback line, or None when there is nothing to show."""
    line = render_feedback_line(summary)
    if line is None:
        return None
    return context(line, block_id=FEEDBACK_SUMMARY_BLOCK_ID)


def shown_feedback_line(blocks: Sequence[dict[str, Any]]) -> str | None:
    """The feedback line a message (JSON, as Slack sends it with a click) shows, or None."""
    for block in blocks:
        if block.get("block_id") == FEEDBACK_SUMMARY_BLOCK_ID:
            elements = block.get("elements") or [{}]
            return str(elements[0].get("text", "")) if isinstance(elements[0], dict) else None
    return None


def with_feedback_line(blocks: Sequence[dict[str, Any]], summary: FeedbackSummary) -> list[dict[str, Any]]:
    """The message's blocks (JSON, as Slack sends them with a click) with the feedback line replaced, or inserted
    just above the buttons; the other blocks are kept exactly as they are."""
    kept = [block for block in blocks if block.get("block_id") != FEEDBACK_SUMMARY_BLOCK_ID]
    line = feedback_context_block(summary)
    if line is None:
        return kept
    position = next((i for i, block in enumerate(kept) if block.get("block_id") == FEEDBACK_BLOCK_ID), len(kept))
    # Other action rows right above the rating buttons (the portal link) stay together with them.
    while position > 0 and kept[position - 1].get("type") == "actions":
        position -= 1
    return [*kept[:position], line.to_dict(), *kept[position:]]


def mention(user_id: str | None) -> str | None:
    """`<@U123>` for a Slack user id; anything else shown inert (None for nothing)."""
    if user_id is None:
        return None
    if _USER_ID.match(user_id):
        return f"<@{user_id}>"
    # Not a user id Slack would send: show it inert rather than let it form a mention or link.
    return escape(user_id[:64]) or None
