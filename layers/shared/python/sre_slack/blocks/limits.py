"""Block Kit limits, and the one checker that lists every way a message (or a view's blocks) breaks them.

Used twice with the same rules: `validate_message` is the last guard before we post (Slack answers a message
over a limit with `invalid_blocks` or `msg_blocks_too_long`, which no retry fixes), and the local Slack
stand-in answers with Slack's error codes from `block_problems` and `blocks_char_count`.

The rules, in three parts:
- per field, slack_sdk's own: its block classes carry the limits (the constants below read them) and its
  validation runs on every block, so whatever slack_sdk refuses is refused here too;
- the same lengths counted again in UTF-16 code units (`slack_len`, as Slack counts; slack_sdk counts code
  points, so an emoji passes it at half its weight), plus what slack_sdk does not check: section field and
  context text length, empty texts, duplicate block and action ids, the number of blocks;
- the whole-message character count (`blocks_char_count`), Slack's undocumented `msg_blocks_too_long`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    ImageBlock,
    InputBlock,
    InteractiveElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from sre_slack.blocks.text import slack_len

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = View.blocks_max_length
HEADER_TEXT_MAX = HeaderBlock.text_max_length
SECTION_TEXT_MAX = SectionBlock.text_max_length
SECTION_FIELDS_MAX = SectionBlock.fields_max_length
# Documented by Slack, not checked by slack_sdk.
SECTION_FIELD_TEXT_MAX = 2000
BUTTON_TEXT_MAX = ButtonElement.text_max_length
BUTTON_VALUE_MAX = ButtonElement.value_max_length
BUTTON_URL_MAX = ButtonElement.url_max_length
ACTION_ID_MAX = InteractiveElement.action_id_max_length
BLOCK_ID_MAX = Block.block_id_max_length
CONTEXT_ELEMENTS_MAX = ContextBlock.elements_max_length
# Undocumented for context elements; we hold them to the section field limit.
CONTEXT_TEXT_MAX = 2000
ACTIONS_ELEMENTS_MAX = ActionsBlock.elements_max_length
IMAGE_ALT_TEXT_MAX = ImageBlock.alt_text_max_length
INPUT_LABEL_MAX = InputBlock.label_max_length
# Slack rejects blocks holding roughly 12-13k characters in total (msg_blocks_too_long, undocumented, and
# what it counts is not published). We count every string in the blocks, keys' values of all kinds: the
# stand-in refuses above Slack's lowest reported figure, and we stay under our own budget below it.
BLOCKS_TOTAL_CHARS_SLACK = 12_000
BLOCKS_TOTAL_CHARS_BUDGET = 11_500
# The top-level `text`: Slack refuses beyond 40,000 characters (msg_too_long); ours is a one-line notification.
MESSAGE_TEXT_MAX = 40_000
FALLBACK_TEXT_MAX = 300

_TEXT_TYPES = ("plain_text", "mrkdwn")
# Block types Slack takes in messages and views, and that only slack_sdk's validation looks inside.
_SLACK_SDK_ONLY_BLOCK_TYPES = ("divider", "rich_text", "markdown", "file", "video")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (a path into the message) and what."""

    path: Path
    reason: str

    @property
    def where(self) -> str:
        """`blocks[4].elements[0].text`"""
        parts = [str(self.path[0])] if self.path else []
        for part in self.path[1:]:
            parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        return "".join(parts)

    @property
    def pointer(self) -> str:
        """`/blocks/4/elements/0/text`, as Slack's `invalid_blocks` errors name the place."""
        return "".join(f"/{part}" for part in self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def blocks_char_count(node: Any) -> int:
    """Every string value anywhere in the blocks (slack_sdk objects or their JSON), as Slack counts length."""
    return sum(slack_len(value) for value in _strings(node))


def block_problems(blocks: Sequence[Block | dict[str, Any]], *, max_blocks: int = MAX_BLOCKS) -> list[Problem]:
    """Every per-field rule the blocks break (not the whole-message count); empty means Slack accepts them."""
    problems: list[Problem] = []
    if len(blocks) > max_blocks:
        problems.append(Problem(("blocks",), f"{len(blocks)} blocks, at most {max_blocks} allowed"))
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        path: Path = ("blocks", index)
        wire = _as_json(block, path)
        if isinstance(wire, Problem):
            problems.append(wire)
            continue
        found = _check_block(wire, path)
        if not found and isinstance(block, dict):
            # A slack_sdk object was validated when its JSON was built; JSON from elsewhere is validated here.
            objection = _slack_sdk_objection(block)
            if objection is not None:
                found.append(Problem(path, f"slack_sdk refuses it: {objection}"))
        problems += found
        block_id = wire.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(Problem((*path, "block_id"), f"duplicate block_id {block_id!r}"))
            block_ids.add(block_id)
    return problems


def validate_message(blocks: Sequence[Block | dict[str, Any]], text: str) -> list[str]:
    """Every limit our message breaks, as "<where>: <what>"; empty means Slack accepts it.

    Stricter than Slack in two ways: the top-level text must not be empty (it is the notification), and the
    blocks must stay within our budget `BLOCKS_TOTAL_CHARS_BUDGET`.
    """
    problems: list[str] = []
    if not isinstance(text, str) or not text.strip():
        problems.append("text: must not be empty (no_text)")
    elif slack_len(text) > MESSAGE_TEXT_MAX:
        problems.append(f"text: longer than {MESSAGE_TEXT_MAX} characters")
    if not isinstance(blocks, Sequence) or isinstance(blocks, str):
        return [*problems, "blocks: must be a list"]
    problems += [str(problem) for problem in block_problems(blocks)]
    total = blocks_char_count([wire for wire in (_as_json(b, ()) for b in blocks) if isinstance(wire, dict)])
    if total > BLOCKS_TOTAL_CHARS_BUDGET:
        problems.append(f"blocks: {total} characters in total, budget {BLOCKS_TOTAL_CHARS_BUDGET}")
    return problems


def _as_json(block: Any, path: Path) -> dict[str, Any] | Problem:
    """The block as Slack receives it, or why there is none (building a slack_sdk object's JSON validates it)."""
    if isinstance(block, dict):
        return block
    if isinstance(block, Block):
        try:
            return block.to_dict()
        except SlackObjectFormationError as exc:
            return Problem(path, f"slack_sdk refuses it: {exc}")
    return Problem(path, "must be an object")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, JsonObject):
        yield from _strings(node.to_dict())
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _strings(value)


def _check_block(block: dict[str, Any], path: Path) -> list[Problem]:
    problems: list[Problem] = []
    block_id = block.get("block_id")
    if block_id is not None:
        _check_string(block_id, BLOCK_ID_MAX, (*path, "block_id"), problems)
    kind = block.get("type")
    if kind == "header":
        _check_text(block.get("text"), HEADER_TEXT_MAX, (*path, "text"), problems, plain_only=True)
    elif kind == "section":
        _check_section(block, path, problems)
    elif kind == "context":
        _check_context(block, path, problems)
    elif kind == "actions":
        _check_actions(block, path, problems)
    elif kind == "image":
        _check_string(block.get("alt_text"), IMAGE_ALT_TEXT_MAX, (*path, "alt_text"), problems)
    elif kind == "input":
        _check_text(block.get("label"), INPUT_LABEL_MAX, (*path, "label"), problems, plain_only=True)
        _check_element(block.get("element"), (*path, "element"), problems)
    elif kind not in _SLACK_SDK_ONLY_BLOCK_TYPES:
        problems.append(Problem((*path, "type"), f"{kind!r} is not a Block Kit block type"))
    return problems


def _slack_sdk_objection(block: dict[str, Any]) -> str | None:
    """What slack_sdk's own validation says about a block given as JSON (None: nothing)."""
    try:
        parsed = Block.parse(copy.deepcopy(block))
        if parsed is None:
            return "not a block type it knows"
        parsed.to_dict()
    except SlackObjectFormationError as exc:
        return str(exc)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # Its constructors and validators raise these on shapes they cannot read (a text object without text).
        return f"cannot read it ({type(exc).__name__}: {exc})"
    return None


def _check_context(block: dict[str, Any], path: Path, problems: list[Problem]) -> None:
    elements = block.get("elements")
    if not _non_empty_list(elements, CONTEXT_ELEMENTS_MAX, (*path, "elements"), problems):
        return
    for index, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") == "image":
            continue
        _check_text(element, CONTEXT_TEXT_MAX, (*path, "elements", index), problems)


def _check_section(block: dict[str, Any], path: Path, problems: list[Problem]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.append(Problem(path, "a section needs text or fields"))
    if text is not None:
        _check_text(text, SECTION_TEXT_MAX, (*path, "text"), problems)
    if fields is not None and _non_empty_list(fields, SECTION_FIELDS_MAX, (*path, "fields"), problems):
        for index, field in enumerate(fields):
            _check_text(field, SECTION_FIELD_TEXT_MAX, (*path, "fields", index), problems)
    accessory = block.get("accessory")
    if accessory is not None:
        _check_element(accessory, (*path, "accessory"), problems)


def _check_actions(block: dict[str, Any], path: Path, problems: list[Problem]) -> None:
    elements = block.get("elements")
    if not _non_empty_list(elements, ACTIONS_ELEMENTS_MAX, (*path, "elements"), problems):
        return
    action_ids: set[str] = set()
    for index, element in enumerate(elements):
        _check_element(element, (*path, "elements", index), problems)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in action_ids:
                problems.append(Problem((*path, "elements", index, "action_id"), f"duplicate action_id {action_id!r}"))
            action_ids.add(action_id)


def _check_element(element: Any, path: Path, problems: list[Problem]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        problems.append(Problem(path, "must be an element object with a type"))
        return
    if "action_id" in element:
        _check_string(element["action_id"], ACTION_ID_MAX, (*path, "action_id"), problems)
    if element["type"] != "button":
        return
    _check_text(element.get("text"), BUTTON_TEXT_MAX, (*path, "text"), problems, plain_only=True)
    for key, limit in (("value", BUTTON_VALUE_MAX), ("url", BUTTON_URL_MAX)):
        if element.get(key) is not None:
            _check_string(element[key], limit, (*path, key), problems)


def _check_text(obj: Any, limit: int, path: Path, problems: list[Problem], *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in _TEXT_TYPES:
        problems.append(Problem(path, "must be a text object (plain_text or mrkdwn)"))
        return
    if plain_only and obj["type"] != "plain_text":
        problems.append(Problem(path, "must be plain_text"))
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(path, "text must not be empty"))
    elif slack_len(text) > limit:
        problems.append(Problem(path, f"{slack_len(text)} characters, at most {limit}"))


def _check_string(value: Any, limit: int, path: Path, problems: list[Problem]) -> None:
    if not isinstance(value, str) or not value:
        problems.append(Problem(path, "must be a non-empty string"))
    elif slack_len(value) > limit:
        problems.append(Problem(path, f"{slack_len(value)} characters, at most {limit}"))


def _non_empty_list(value: Any, limit: int, path: Path, problems: list[Problem]) -> bool:
    if not isinstance(value, list) or not value:
        problems.append(Problem(path, "must be a non-empty list"))
        return False
    if len(value) > limit:
        problems.append(Problem(path, f"{len(value)} items, at most {limit}"))
    return True
