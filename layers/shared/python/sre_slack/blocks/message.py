"""The one message type (notification text plus Block Kit blocks) and the few block shapes messages are made of.

Blocks are slack_sdk objects until they go on the wire: `SlackMessage.as_kwargs()` is what chat.postMessage and
chat.update take, with every block as its JSON (building the JSON runs slack_sdk's validation). The helpers
below take text that is already mrkdwn-ready (escaped, cut to size: see `sre_slack.blocks.text`), except
`preformatted`, which shows text exactly as given (only hidden characters removed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    MarkdownTextObject,
    PlainTextObject,
    RichTextBlock,
    RichTextElementParts,
    RichTextPreformattedElement,
    SectionBlock,
)

from sre_slack.blocks.text import strip_hidden


@dataclass(frozen=True)
class SlackMessage:
    """A message ready for chat.postMessage / chat.update."""

    text: str
    # Built by us (slack_sdk objects), or as Slack sent them with a click (JSON), for an edit of that message.
    blocks: tuple[Block | dict[str, Any], ...]

    def as_kwargs(self) -> dict[str, Any]:
        """`text` and `blocks` as the Web API takes them (blocks as JSON)."""
        return {"text": self.text,
                "blocks": [block.to_dict() if isinstance(block, Block) else block for block in self.blocks]}


def header(text: str, *, block_id: str | None = None) -> HeaderBlock:
    """A header: plain_text, so Slack parses nothing in it and nothing needs escaping."""
    return HeaderBlock(block_id=block_id, text=plain(text))


def section(mrkdwn: str, *, block_id: str | None = None, fields: Sequence[str] = ()) -> SectionBlock:
    return SectionBlock(
        block_id=block_id, text=MarkdownTextObject(text=mrkdwn), fields=[MarkdownTextObject(text=f) for f in fields]
    )


def context(mrkdwn: str, *, block_id: str | None = None) -> ContextBlock:
    """A context line: one small mrkdwn text."""
    return ContextBlock(block_id=block_id, elements=[MarkdownTextObject(text=mrkdwn)])


def preformatted(text: str, *, block_id: str) -> RichTextBlock:
    """A rich_text block showing `text` as preformatted plain text: Slack parses nothing in it (no mrkdwn, no
    mentions, no escaping), so copying it gives `text` byte for byte. Hidden characters are removed like from
    any outside text (`text.strip_hidden`; a caller that must say so compares before and after)."""
    content = RichTextElementParts.Text(text=strip_hidden(text))
    return RichTextBlock(block_id=block_id, elements=[RichTextPreformattedElement(elements=[content])])


def actions(block_id: str, elements: Sequence[InteractiveElement]) -> ActionsBlock:
    """A row of buttons (or other interactive elements) that Slack reports clicks on by `block_id`."""
    return ActionsBlock(block_id=block_id, elements=list(elements))


def button(label: str, *, action_id: str, value: str | None = None, url: str | None = None) -> ButtonElement:
    """A button; with `url` it opens the link (and Slack still sends a click to acknowledge)."""
    return ButtonElement(text=plain(label), action_id=action_id, value=value, url=url)


def plain(text: str) -> PlainTextObject:
    """A plain_text object with emoji shortcodes rendered, as every label of ours has."""
    return PlainTextObject(text=text, emoji=True)


# CONTRACT.md: a message re-sent after an ambiguous Slack answer says so (Slack may show an earlier copy).
RESENT_NOTICE = "↻ re-sent after a Slack error; an earlier copy may exist"
RESENT_BLOCK_ID = "resent"
RESENT_TEXT_PREFIX = "[re-sent] "


def resent_notice() -> ContextBlock:
    """The context line of a re-sent message; each message builder places it among its status lines, inside its
    own size budget (so a message at Slack's limits still fits once labelled)."""
    return context(RESENT_NOTICE, block_id=RESENT_BLOCK_ID)
