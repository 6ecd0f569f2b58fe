"""Message payload checks with Slack's error codes, by the same rules our own messages are held to.

The rules are `sre_slack.blocks.limits` (per-field limits, slack_sdk's validation, the whole-message count);
this module only answers as Slack does: `no_text`, `msg_too_long`, `invalid_blocks` with an `errors` list of
`"<reason> [json-pointer:/blocks/0/...]"` (so a failing test says which block broke), `msg_blocks_too_long`,
and `invalid_blocks_format` for blocks that are not a JSON list of objects.
"""

from __future__ import annotations

import json
from typing import Any

from sre_slack.blocks.limits import (
    BLOCKS_TOTAL_CHARS_SLACK,
    MAX_BLOCKS,
    MESSAGE_TEXT_MAX,
    block_problems,
    blocks_char_count,
)
from sre_slack.blocks.text import slack_len


class PayloadError(Exception):
    """A Slack error code plus, for invalid_blocks, the per-field reasons."""

    def __init__(self, code: str, errors: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.errors = errors or []


def parse_blocks(raw: Any) -> list[dict[str, Any]] | None:
    """Blocks arrive as a list (JSON body) or as a JSON string (form body)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PayloadError("invalid_blocks_format") from exc
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        raise PayloadError("invalid_blocks_format")
    return raw


def validate_message(text: str | None, blocks: list[dict[str, Any]] | None, *, require_content: bool = True) -> None:
    """Raises PayloadError with the code Slack would answer, in Slack's order of checks."""
    if require_content and not text and not blocks:
        raise PayloadError("no_text")
    if text is not None and slack_len(text) > MESSAGE_TEXT_MAX:
        raise PayloadError("msg_too_long")
    if blocks:
        validate_blocks(blocks)


def validate_blocks(blocks: list[dict[str, Any]], *, max_blocks: int = MAX_BLOCKS) -> None:
    problems = block_problems(blocks, max_blocks=max_blocks)
    if problems:
        raise PayloadError("invalid_blocks", [f"{p.reason} [json-pointer:{p.pointer}]" for p in problems])
    if blocks_char_count(blocks) > BLOCKS_TOTAL_CHARS_SLACK:
        raise PayloadError("msg_blocks_too_long")
