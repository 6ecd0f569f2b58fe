"""Block Kit limits (shared/README.md) and a checker that lists every way a message breaks them.

`validate_message` is what the tests hold every built message to, and the last guard before posting: Slack
answers a message over any of these limits with `invalid_blocks` or `msg_blocks_too_long`, which no retry
fixes. Lengths are counted with `slack_len` (UTF-16 code units), never shorter than Slack's own count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sre_slack.blocks.text import slack_len

MAX_BLOCKS = 50
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
BUTTON_URL_MAX = 3000
ACTION_ID_MAX = 255
BLOCK_ID_MAX = 255
CONTEXT_ELEMENTS_MAX = 10
# Undocumented for context elements; we hold them to the section field limit.
CONTEXT_TEXT_MAX = 2000
ACTIONS_ELEMENTS_MAX = 25
# Slack rejects blocks holding roughly 12-13k characters in total (msg_blocks_too_long, undocumented, and
# what it counts is not published). We count every string in the blocks, keys' values of all kinds, and stay
# under our own budget below Slack's lowest reported figure.
BLOCKS_TOTAL_CHARS_SLACK = 12_000
BLOCKS_TOTAL_CHARS_BUDGET = 11_500
# The top-level `text`: Slack truncates beyond 40,000 characters; ours is a one-line notification.
MESSAGE_TEXT_MAX = 40_000
FALLBACK_TEXT_MAX = 300

_TEXT_TYPES = ("plain_text", "mrkdwn")
# Block types Slack knows that this checker does not look inside (only their block_id and the total count).
_UNCHECKED_BLOCK_TYPES = ("divider", "image", "rich_text", "markdown", "input", "file", "video")


def blocks_char_count(node: Any) -> int:
    """Every string value anywhere in the blocks, counted as Slack counts length."""
    return sum(slack_len(value) for value in _strings(node))


def validate_message(blocks: list[dict[str, Any]], text: str) -> list[str]:
    """Every Block Kit limit the message breaks, as "<where>: <what>"; empty means Slack accepts it."""
    problems: list[str] = []
    if not isinstance(text, str) or not text.strip():
        problems.append("text: must not be empty (no_text)")
    elif slack_len(text) > MESSAGE_TEXT_MAX:
        problems.append(f"text: longer than {MESSAGE_TEXT_MAX} characters")
    if not isinstance(blocks, list):
        return [*problems, "blocks: must be a list"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} blocks, at most {MAX_BLOCKS} allowed")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: must be an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            _check_id(block_id, BLOCK_ID_MAX, f"{where}.block_id", problems)
            if block_id in block_ids:
                problems.append(f"{where}.block_id: duplicate block_id {block_id!r}")
            block_ids.add(block_id)
        _check_block(block, where, problems)
    total = blocks_char_count(blocks)
    if total > BLOCKS_TOTAL_CHARS_BUDGET:
        problems.append(f"blocks: {total} characters in total, budget {BLOCKS_TOTAL_CHARS_BUDGET}")
    return problems


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _strings(value)


def _check_block(block: dict[str, Any], where: str, problems: list[str]) -> None:
    kind = block.get("type")
    if kind == "header":
        _check_text(block.get("text"), HEADER_TEXT_MAX, f"{where}.text", problems, plain_only=True)
    elif kind == "section":
        _check_section(block, where, problems)
    elif kind == "context":
        elements = block.get("elements")
        if not _non_empty_list(elements, CONTEXT_ELEMENTS_MAX, f"{where}.elements", problems):
            return
        for index, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                continue
            _check_text(element, CONTEXT_TEXT_MAX, f"{where}.elements[{index}]", problems)
    elif kind == "actions":
        _check_actions(block, where, problems)
    elif kind not in _UNCHECKED_BLOCK_TYPES:
        problems.append(f"{where}.type: {kind!r} is not a Block Kit block type")


def _check_section(block: dict[str, Any], where: str, problems: list[str]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.append(f"{where}: a section needs text or fields")
    if text is not None:
        _check_text(text, SECTION_TEXT_MAX, f"{where}.text", problems)
    if fields is not None and _non_empty_list(fields, SECTION_FIELDS_MAX, f"{where}.fields", problems):
        for index, field in enumerate(fields):
            _check_text(field, SECTION_FIELD_TEXT_MAX, f"{where}.fields[{index}]", problems)
    accessory = block.get("accessory")
    if accessory is not None:
        _check_element(accessory, f"{where}.accessory", problems)


def _check_actions(block: dict[str, Any], where: str, problems: list[str]) -> None:
    elements = block.get("elements")
    if not _non_empty_list(elements, ACTIONS_ELEMENTS_MAX, f"{where}.elements", problems):
        return
    action_ids: set[str] = set()
    for index, element in enumerate(elements):
        _check_element(element, f"{where}.elements[{index}]", problems)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None:
            if action_id in action_ids:
                problems.append(f"{where}.elements[{index}].action_id: duplicate action_id {action_id!r}")
            action_ids.add(action_id)


def _check_element(element: Any, where: str, problems: list[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        problems.append(f"{where}: must be an element object with a type")
        return
    if "action_id" in element:
        _check_id(element["action_id"], ACTION_ID_MAX, f"{where}.action_id", problems)
    if element["type"] != "button":
        return
    _check_text(element.get("text"), BUTTON_TEXT_MAX, f"{where}.text", problems, plain_only=True)
    for key, limit in (("value", BUTTON_VALUE_MAX), ("url", BUTTON_URL_MAX)):
        value = element.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            problems.append(f"{where}.{key}: must be a non-empty string")
        elif slack_len(value) > limit:
            problems.append(f"{where}.{key}: {slack_len(value)} characters, at most {limit}")


def _check_text(obj: Any, limit: int, where: str, problems: list[str], *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in _TEXT_TYPES:
        problems.append(f"{where}: must be a text object (plain_text or mrkdwn)")
        return
    if plain_only and obj["type"] != "plain_text":
        problems.append(f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{where}: text must not be empty")
    elif slack_len(text) > limit:
        problems.append(f"{where}: {slack_len(text)} characters, at most {limit}")


def _check_id(value: Any, limit: int, where: str, problems: list[str]) -> None:
    if not isinstance(value, str) or not value:
        problems.append(f"{where}: must be a non-empty string")
    elif slack_len(value) > limit:
        problems.append(f"{where}: {slack_len(value)} characters, at most {limit}")


def _non_empty_list(value: Any, limit: int, where: str, problems: list[str]) -> bool:
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: must be a non-empty list")
        return False
    if len(value) > limit:
        problems.append(f"{where}: {len(value)} items, at most {limit}")
    return True
