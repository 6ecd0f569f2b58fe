"""The investigation queue's message schema (CONTRACT.md "SQS message"): what we accept and how we refuse."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sre_slack.contracts.investigation import (
    AlertResolved,
    InvalidMessage,
    InvestigationCompleted,
    parse_investigation_message,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def completed() -> dict[str, Any]:
    return json.loads((EVENTS / "investigation_completed.json").read_text())


def resolved() -> dict[str, Any]:
    return json.loads((EVENTS / "alert_resolved.json").read_text())


def parse(document: Any) -> InvestigationCompleted | AlertResolved:
    return parse_investigation_message(json.dumps(document))


def refused(document: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        parse(document)
    return caught.value


def without(document: dict[str, Any], dotted: str) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = dotted.split(".")
    node = document
    for key in parents:
        node = node[key]
    del node[last]
    return document


def with_value(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    *parents, last = dotted.split(".")
    node = document
    for key in parents:
        node = node[key]
    node[last] = value
    return document


def test_the_contract_example_parses_with_every_field() -> None:
    message = parse(completed())

    assert isinstance(message, InvestigationCompleted)
    assert message.investigation_id == "inv_01JD4X8Y2Z"
    assert message.tenant_id == "t_acme"
    assert message.cluster == "production-us-east"
    assert message.workspace == "platform-team"
    assert message.alert.name == "KubePodCrashLooping"
    assert message.alert.severity == "critical"
    assert message.alert.namespace == "payments"
    assert message.alert.fired_at == datetime(2026, 11, 27, 8, 12, tzinfo=UTC)
    assert message.alert.fingerprint == "3f2a9c"
    assert message.alert.labels == {"pod": "api-7f9c4"}
    assert message.confidence == "high"
    assert [(r.kind, r.namespace, r.name, r.status) for r in message.affected_resources] == [
        ("Deployment", "payments", "api", "2/5 ready"),
        ("Pod", "payments", "api-7f9c4", "CrashLoopBackOff"),
    ]
    assert [a.command for a in message.recommended_actions] == [
        "kubectl describe pod api-7f9c4 -n payments",
        "kubectl rollout undo deployment/api -n payments",
    ]
    assert message.portal_url == "https://portal.example.com/investigations/inv_01JD4X8Y2Z"
    assert message.test is False


def test_the_resolved_example_parses() -> None:
    message = parse(resolved())

    assert isinstance(message, AlertResolved)
    assert message.investigation_id == "inv_01JD4X8Y2Z"
    assert message.tenant_id == "t_acme"
    assert message.resolved_at == datetime(2026, 11, 27, 8, 47, 30, tzinfo=UTC)


def test_the_hostile_example_is_still_a_valid_message() -> None:
    message = parse_investigation_message((EVENTS / "investigation_hostile.json").read_bytes())

    assert isinstance(message, InvestigationCompleted)
    assert len(message.root_cause) >= 50_000
    assert len(message.affected_resources) == 60
    assert len(message.recommended_actions) == 40
    assert len(message.alert.labels) > 1000
    assert message.test is True


def test_only_the_required_fields_are_enough() -> None:
    minimal = {
        "version": "1",
        "type": "investigation.completed",
        "investigation_id": "inv_1",
        "tenant_id": "t_1",
        "cluster": "c",
        "alert": {"name": "A", "severity": "info", "summary": "s", "fired_at": "2026-01-01T00:00:00Z"},
        "root_cause": "r",
    }
    message = parse(minimal)

    assert isinstance(message, InvestigationCompleted)
    assert message.workspace is None
    assert message.alert.namespace is None
    assert message.alert.labels == {}
    assert message.affected_resources == []
    assert message.recommended_actions == []
    assert message.portal_url is None
    assert message.test is False


@pytest.mark.parametrize(
    "field",
    [
        "version",
        "investigation_id",
        "tenant_id",
        "cluster",
        "alert",
        "root_cause",
        "alert.name",
        "alert.severity",
        "alert.summary",
        "alert.fired_at",
    ],
)
def test_a_missing_required_field_is_named(field: str) -> None:
    error = refused(without(completed(), field))

    assert field in error.fields
    assert f"{field}: Field required" in str(error)


@pytest.mark.parametrize("field", ["version", "investigation_id", "tenant_id", "resolved_at"])
def test_a_resolved_message_missing_a_field_is_named(field: str) -> None:
    error = refused(without(resolved(), field))

    assert field in error.fields
    assert f"{field}: Field required" in str(error)


def test_a_missing_type_is_named() -> None:
    error = refused(without(completed(), "type"))

    assert error.fields == ("type",)
    assert "investigation.completed" in str(error)


def test_an_unknown_type_is_refused() -> None:
    error = refused(with_value(completed(), "type", "investigation.started"))

    assert error.fields == ("type",)


@pytest.mark.parametrize("version", ["2", 1, "1.0", None])
def test_only_version_1_is_accepted(version: Any) -> None:
    assert "version" in refused(with_value(completed(), "version", version)).fields


@pytest.mark.parametrize("severity", ["CRITICAL", "Critical", "fatal", "", None, 1])
def test_a_severity_outside_the_contract_is_refused(severity: Any) -> None:
    error = refused(with_value(completed(), "alert.severity", severity))

    assert error.fields == ("alert.severity",)
    assert "alert.severity: Input should be 'critical', 'warning' or 'info'" in str(error)


@pytest.mark.parametrize("severity", ["critical", "warning", "info"])
def test_every_contract_severity_is_accepted(severity: str) -> None:
    assert parse(with_value(completed(), "alert.severity", severity)).alert.severity == severity


def test_every_problem_is_listed_at_once() -> None:
    document = with_value(completed(), "alert.severity", "fatal")
    document = without(document, "cluster")
    document["investigation_id"] = ""

    error = refused(document)

    assert set(error.fields) == {"alert.severity", "cluster", "investigation_id"}


def test_an_offset_timestamp_is_converted_to_utc() -> None:
    message = parse(with_value(completed(), "alert.fired_at", "2026-11-27T10:12:00+02:00"))

    assert message.alert.fired_at == datetime(2026, 11, 27, 8, 12, tzinfo=UTC)
    assert message.alert.fired_at.utcoffset() is not None
    assert message.alert.fired_at.tzinfo == UTC


def test_a_timestamp_without_offset_is_read_as_utc() -> None:
    message = parse(with_value(completed(), "alert.fired_at", "2026-11-27T08:12:00"))

    assert message.alert.fired_at == datetime(2026, 11, 27, 8, 12, tzinfo=UTC)


def test_a_late_evening_offset_lands_on_the_next_utc_day() -> None:
    # The digest counts on the UTC day of fired_at.
    message = parse(with_value(completed(), "alert.fired_at", "2026-11-27T20:30:00-05:00"))

    assert message.alert.fired_at.date().isoformat() == "2026-11-28"


def test_resolved_at_is_normalised_to_utc_too() -> None:
    message = parse(with_value(resolved(), "resolved_at", "2026-11-27T09:47:30+01:00"))

    assert isinstance(message, AlertResolved)
    assert message.resolved_at == datetime(2026, 11, 27, 8, 47, 30, tzinfo=UTC)


@pytest.mark.parametrize("value", [1795767120, "yesterday", "", "2026-13-45T00:00:00Z", None])
def test_a_timestamp_that_is_not_iso_8601_is_refused(value: Any) -> None:
    assert refused(with_value(completed(), "alert.fired_at", value)).fields == ("alert.fired_at",)


def test_unknown_fields_from_the_engine_are_ignored_at_every_level() -> None:
    document = completed()
    document["engine_version"] = "7.1"
    document["alert"]["generator_url"] = "https://alertmanager.example.com/x"
    document["affected_resources"][0]["uid"] = "0b7c"
    document["recommended_actions"][0]["risk"] = "low"

    message = parse(document)

    assert message == parse(completed())
    assert not hasattr(message, "engine_version")


@pytest.mark.parametrize("field", ["cluster", "root_cause", "alert.name", "alert.summary", "workspace"])
def test_a_number_where_a_string_belongs_is_refused(field: str) -> None:
    assert field in refused(with_value(completed(), field, 42)).fields


@pytest.mark.parametrize("field", ["cluster", "alert.name"])
def test_a_blank_name_is_refused(field: str) -> None:
    assert field in refused(with_value(completed(), field, "   ")).fields


@pytest.mark.parametrize("field", ["root_cause", "alert.summary"])
def test_an_empty_analysis_is_still_delivered(field: str) -> None:
    # Present but empty: the alert still has to reach the channel; the message says nothing was reported.
    assert isinstance(parse(with_value(completed(), field, "")), InvestigationCompleted)


@pytest.mark.parametrize("field", ["investigation_id", "tenant_id"])
@pytest.mark.parametrize(
    "value",
    ["", "a" * 256, "inv#SEEN", "inv 1", "-leading-dash", "inv/1", 'inv"1', "inv\n1", "inv_ü", "inv_1\n"],
)
def test_ids_must_be_short_and_key_safe(field: str, value: str) -> None:
    assert field in refused(with_value(completed(), field, value)).fields


@pytest.mark.parametrize("value", ["a" * 255, "inv_01JD4X8Y2Z", "0b7c-11e9.a:b@c+d=e"])
def test_ids_within_the_safe_alphabet_are_accepted(value: str) -> None:
    assert parse(with_value(completed(), "investigation_id", value)).investigation_id == value


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://portal.example.com/x",
        "/investigations/inv_1",
        "https://portal.example.com/x|click",
        "https://portal.example.com/<x>",
        "https://portal.example.com/a b",
        "https://",
        "https://portal.example.com/" + "a" * 3000,
    ],
)
def test_a_portal_url_that_is_not_a_plain_http_link_is_refused(url: str) -> None:
    assert refused(with_value(completed(), "portal_url", url)).fields == ("portal_url",)


def test_an_http_portal_url_with_a_query_is_accepted() -> None:
    url = "http://localhost:3000/investigations/inv_1?tab=actions&x=%20"
    assert parse(with_value(completed(), "portal_url", url)).portal_url == url


def test_null_optionals_read_as_absent() -> None:
    document = completed()
    for field in ("workspace", "confidence", "portal_url", "affected_resources", "recommended_actions", "test"):
        document[field] = None
    document["alert"]["labels"] = None
    document["alert"]["namespace"] = None

    message = parse(document)

    assert isinstance(message, InvestigationCompleted)
    assert message.affected_resources == []
    assert message.recommended_actions == []
    assert message.alert.labels == {}
    assert message.test is False


def test_test_must_be_a_boolean() -> None:
    assert refused(with_value(completed(), "test", "yes")).fields == ("test",)
    message = parse(with_value(completed(), "test", True))
    assert isinstance(message, InvestigationCompleted)
    assert message.test is True


def test_nested_list_items_are_checked_and_located() -> None:
    document = completed()
    del document["affected_resources"][1]["name"]
    document["recommended_actions"][0]["title"] = ""
    document["alert"]["labels"]["replicas"] = 3

    error = refused(document)

    assert set(error.fields) == {
        "affected_resources.1.name",
        "recommended_actions.0.title",
        "alert.labels.replicas",
    }


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe not utf-8", "not json", "[1, 2]", '"a string"', "null", ""],
)
def test_a_body_that_is_not_a_json_object_is_refused(body: str | bytes) -> None:
    with pytest.raises(InvalidMessage, match="invalid message: body"):
        parse_investigation_message(body)


def test_the_reason_names_fields_but_never_repeats_their_values() -> None:
    secret_looking = "xoxb-1234-should-not-be-logged"
    document = with_value(completed(), "cluster", 7)
    document["investigation_id"] = secret_looking + "#"

    error = refused(document)

    assert secret_looking not in str(error)
    assert "investigation_id" in str(error)
    assert "cluster" in str(error)


def test_a_flood_of_errors_gives_a_bounded_reason() -> None:
    document = completed()
    document["alert"]["labels"] = {f"l{i}": i for i in range(500)}

    error = refused(document)

    assert len(str(error)) < 2000
    assert "and 490 more" in str(error)


def test_invalid_message_is_a_value_error() -> None:
    # Handlers that catch ValueError for bad input keep working.
    assert issubclass(InvalidMessage, ValueError)
