"""Message payload checks with Slack's error codes (limits from shared/README.md).

Slack answers `invalid_blocks` with an `errors` list of `"<reason> [json-pointer:/blocks/0/...]"`; we do the
same so a failing test says which block broke.
"""

from __future__ import annotations

import json
from typing import Any

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_BLOCKS_TOTAL_TEXT = 12_000
MAX_ID = 255

KNOWN_BLOCK_TYPES = frozenset(
    {
        "section",
        "header",
        "context",
        "actions",
        "divider",
        "image",
        "rich_text",
        "input",
        "markdown",
        "file",
        "video",
    }
)


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
    if text is not None and len(text) > MAX_TEXT:
        raise PayloadError("msg_too_long")
    if blocks:
        validate_blocks(blocks)


def validate_blocks(blocks: list[dict[str, Any]], *, max_blocks: int = MAX_BLOCKS) -> None:
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        _check_block(block, f"/blocks/{index}", errors)
    if errors:
        raise PayloadError("invalid_blocks", errors)
    if total_text_length(blocks) > MAX_BLOCKS_TOTAL_TEXT:
        raise PayloadError("msg_blocks_too_long")


def total_text_length(node: Any) -> int:
    """Characters of every `text` string anywhere in the blocks: what Slack's undocumented cap counts."""
    if isinstance(node, list):
        return sum(total_text_length(item) for item in node)
    if isinstance(node, dict):
        total = 0
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                total += len(value)
            else:
                total += total_text_length(value)
        return total
    return 0


def _too_long(value: Any, limit: int, pointer: str, errors: list[str]) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}]")


def _check_text_object(obj: Any, limit: int, pointer: str, errors: list[str], *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"must be a text object [json-pointer:{pointer}]")
        return
    if plain_only and obj["type"] != "plain_text":
        errors.append(f"must be plain_text [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
        return
    _too_long(text, limit, f"{pointer}/text", errors)


def _check_element(element: Any, pointer: str, errors: list[str]) -> None:
    if not isinstance(element, dict) or "type" not in element:
        errors.append(f"must be an element object [json-pointer:{pointer}]")
        return
    _too_long(element.get("action_id"), MAX_ID, f"{pointer}/action_id", errors)
    if element["type"] == "button":
        _check_text_object(element.get("text"), 75, f"{pointer}/text", errors, plain_only=True)
        _too_long(element.get("value"), 2000, f"{pointer}/value", errors)
        _too_long(element.get("url"), 3000, f"{pointer}/url", errors)


def _check_block(block: dict[str, Any], pointer: str, errors: list[str]) -> None:
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        errors.append(f"unsupported type: {kind!r} [json-pointer:{pointer}/type]")
        return
    _too_long(block.get("block_id"), MAX_ID, f"{pointer}/block_id", errors)
    if kind == "header":
        _check_text_object(block.get("text"), 150, f"{pointer}/text", errors, plain_only=True)
    elif kind == "section":
        _check_section(block, pointer, errors)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must provide at least one element [json-pointer:{pointer}/elements]")
        elif len(elements) > 10:
            errors.append(f"no more than 10 items allowed [json-pointer:{pointer}/elements]")
        else:
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                    _check_text_object(element, 3000, f"{pointer}/elements/{i}", errors)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must provide at least one element [json-pointer:{pointer}/elements]")
        elif len(elements) > 25:
            errors.append(f"no more than 25 items allowed [json-pointer:{pointer}/elements]")
        else:
            for i, element in enumerate(elements):
                _check_element(element, f"{pointer}/elements/{i}", errors)
    elif kind == "image":
        _too_long(block.get("alt_text"), 2000, f"{pointer}/alt_text", errors)
    elif kind == "input":
        _check_text_object(block.get("label"), 2000, f"{pointer}/label", errors, plain_only=True)
        _check_element(block.get("element"), f"{pointer}/element", errors)


def _check_section(block: dict[str, Any], pointer: str, errors: list[str]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        errors.append(f"must provide either text or fields [json-pointer:{pointer}]")
    if text is not None:
        _check_text_object(text, 3000, f"{pointer}/text", errors)
    if fields is not None:
        if not isinstance(fields, list):
            errors.append(f"must be an array [json-pointer:{pointer}/fields]")
        elif len(fields) > 10:
            errors.append(f"no more than 10 items allowed [json-pointer:{pointer}/fields]")
        else:
            for i, f in enumerate(fields):
                _check_text_object(f, 2000, f"{pointer}/fields/{i}", errors)
    if "accessory" in block:
        _check_element(block["accessory"], f"{pointer}/accessory", errors)
