"""The button value and the modal's private_metadata: what we write into Slack, and what we accept back.

A click or a submission can be crafted by anyone in the channel, so reading back accepts only what we could
have written ourselves.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sre_slack.contracts.buttons import FeedbackButtonValue, ModalContext


def test_the_button_value_is_compact_json_naming_tenant_and_investigation() -> None:
    value = FeedbackButtonValue(tenant_id="t_acme", investigation_id="inv_01JD4X8Y2Z")

    assert value.encode() == '{"t":"t_acme","i":"inv_01JD4X8Y2Z"}'
    assert FeedbackButtonValue.parse(value.encode()) == value


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "not json",
        '["t_acme","inv_1"]',
        '{"t":"t_acme"}',
        '{"i":"inv_1"}',
        '{"t":1,"i":"inv_1"}',
        '{"t":"t_acme","i":["inv_1"]}',
        '{"t":"t#x","i":"inv_1"}',
        '{"t":"","i":"inv_1"}',
        '{"t":"t_acme","i":"inv_1","token":"xoxb-1"}',
        '{"tenant_id":"t_acme","investigation_id":"inv_1"}',
    ],
)
def test_a_button_value_we_could_not_have_built_is_refused(raw: str | None) -> None:
    assert FeedbackButtonValue.parse(raw) is None


def test_building_a_button_value_from_an_unsafe_id_names_the_field() -> None:
    with pytest.raises(ValidationError, match="tenant_id"):
        FeedbackButtonValue(tenant_id='t","i":"other', investigation_id="inv_1")


def test_the_modal_context_carries_where_the_modal_came_from() -> None:
    context = ModalContext(
        tenant_id="t_acme", investigation_id="inv_1", channel_id="C0ALERTS", message_ts="1795767120.000100"
    )

    assert json.loads(context.encode()) == {"t": "t_acme", "i": "inv_1", "c": "C0ALERTS", "ts": "1795767120.000100"}
    assert ModalContext.parse(context.encode()) == context


def test_a_modal_opened_without_a_message_keeps_nulls() -> None:
    context = ModalContext(tenant_id="t_acme", investigation_id="inv_1")

    assert context.encode() == '{"t":"t_acme","i":"inv_1","c":null,"ts":null}'
    assert ModalContext.parse(context.encode()) == context


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "inv_1",
        "{}",
        '{"t":"t_acme"}',
        '{"t":"t_acme","i":"inv_1","c":5,"ts":null}',
        '{"t":"t_acme","i":"inv_1","c":null,"ts":1795767120.0001}',
        '{"t":"t#acme","i":"inv_1","c":null,"ts":null}',
        '{"t":"t_acme","i":"inv_1","c":null,"ts":null,"u":"U1"}',
    ],
)
def test_private_metadata_we_could_not_have_written_is_refused(raw: str) -> None:
    assert ModalContext.parse(raw) is None
