"""The one set of Block Kit rules: slack_sdk's validation, our UTF-16 count, and the whole-message budget."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from sre_slack.blocks.limits import (
    BLOCKS_TOTAL_CHARS_BUDGET,
    SECTION_TEXT_MAX,
    Problem,
    block_problems,
    blocks_char_count,
    validate_message,
)
from sre_slack.blocks.message import button, context, section


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_emoji_count_twice_where_slack_sdk_counts_them_once() -> None:
    blocks = [_section("🔥" * 1600)]

    Block.parse(blocks[0]).to_dict()  # type: ignore[union-attr]  # slack_sdk lets it through
    assert [str(p) for p in block_problems(blocks)] == [f"blocks[0].text: 3200 characters, at most {SECTION_TEXT_MAX}"]


def test_what_only_slack_sdk_checks_is_refused_too() -> None:
    blocks = [{"type": "actions", "elements": [{**button("Go", action_id="go").to_dict(), "style": "loud"}]}]

    [problem] = block_problems(blocks)

    assert problem.path == ("blocks", 0)
    assert "slack_sdk refuses it: style attribute must be one of the following values" in problem.reason


def test_json_slack_sdk_cannot_read_is_refused_not_raised() -> None:
    blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x", "emoji": True}]}]

    [problem] = block_problems(blocks)

    assert problem.reason.startswith("slack_sdk refuses it: cannot read it (TypeError")


def test_slack_sdk_objects_and_their_json_break_the_same_rules() -> None:
    as_objects: list[Block] = [
        ContextBlock(block_id="c", elements=[MarkdownTextObject(text="🔥" * 1500)]),
        section("ok", block_id="c"),
    ]

    from_objects = [str(p) for p in block_problems(as_objects)]

    assert from_objects == [str(p) for p in block_problems([b.to_dict() for b in as_objects])]
    assert from_objects == [
        "blocks[0].elements[0]: 3000 characters, at most 2000",
        "blocks[1].block_id: duplicate block_id 'c'",
    ]


def test_an_object_slack_sdk_refuses_is_named_by_its_place() -> None:
    blocks: list[Block] = [context("fine"), SectionBlock(text=MarkdownTextObject(text="x" * 5000))]

    [problem] = block_problems(blocks)

    assert problem.path == ("blocks", 1)
    assert problem.reason == "slack_sdk refuses it: text attribute cannot exceed 3000 characters"


@pytest.mark.parametrize(
    ("path", "where", "pointer"),
    [
        (("blocks",), "blocks", "/blocks"),
        (("blocks", 4, "elements", 0, "text"), "blocks[4].elements[0].text", "/blocks/4/elements/0/text"),
    ],
)
def test_a_problem_names_its_place_for_a_log_and_as_slacks_json_pointer(
    path: tuple[str | int, ...], where: str, pointer: str
) -> None:
    problem = Problem(path, "why")

    assert (problem.where, problem.pointer, str(problem)) == (where, pointer, f"{where}: why")


def test_the_whole_message_budget_is_ours_on_top_of_the_field_rules() -> None:
    blocks = [_section("s" * 2900) for _ in range(4)]

    assert block_problems(blocks) == []
    assert blocks_char_count(blocks) > BLOCKS_TOTAL_CHARS_BUDGET
    assert validate_message(blocks, "t") == [
        f"blocks: {blocks_char_count(blocks)} characters in total, budget {BLOCKS_TOTAL_CHARS_BUDGET}"
    ]


def test_every_string_counts_towards_the_total_not_only_texts() -> None:
    plain = section("hello")
    with_id = section("hello", block_id="b" * 100)

    assert blocks_char_count([with_id]) - blocks_char_count([plain]) == 100
    assert blocks_char_count([plain]) == blocks_char_count([plain.to_dict()])
