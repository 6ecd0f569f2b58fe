"""The routing document as the portal PUTs it: what is accepted, what is refused, and how a refusal reads."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from sre_slack.contracts.routing import (
    MAX_CHANNELS_PER_LIST,
    MAX_ROUTES,
    RoutingDocument,
    all_channels,
    validation_error_body,
)

CONTRACT_EXAMPLE: dict[str, Any] = {
    "default_channels": ["C0DEFAULT"],
    "digest_channels": ["C0DIGEST"],
    "routes": [
        {
            "cluster": "production-us-east",
            "channels": ["C0PROD", "C0LEADS"],
            "severities": ["critical", "warning"],
        },
        {"workspace": "platform-team", "channels": ["C0PLATFORM"]},
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    doc.update(changes)
    return doc


def _with_route(index: int, route: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CONTRACT_EXAMPLE)
    doc["routes"][index] = route
    return doc


def _error_body(data: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        RoutingDocument.model_validate(data)
    return validation_error_body(caught.value)


# --- accepted documents ---


def test_contract_example_is_accepted_and_stored_as_sent() -> None:
    doc = RoutingDocument.model_validate(CONTRACT_EXAMPLE)

    assert doc.to_json_dict() == CONTRACT_EXAMPLE


def test_contract_example_is_accepted_from_json_text() -> None:
    doc = RoutingDocument.model_validate_json(
        '{"default_channels": ["C0DEFAULT"], "routes": [{"workspace": "platform-team", "channels": ["C0P"]}]}'
    )

    assert doc.routes[0].workspace == "platform-team"
    assert doc.routes[0].cluster is None
    assert doc.digest_channels == []


def test_empty_document_means_no_routing_at_all() -> None:
    doc = RoutingDocument.model_validate({})

    assert doc.to_json_dict() == {"default_channels": [], "digest_channels": [], "routes": []}


@pytest.mark.parametrize(
    "channel",
    [
        "C0DEFAULT",  # the contract's placeholder style
        "C024BE91L",  # Slack's classic 9-character id
        "C07ABCDEF12",  # today's 11-character ids
        "G8PSS9T3V",  # legacy private channel
    ],
)
def test_real_slack_channel_ids_are_accepted(channel: str) -> None:
    doc = RoutingDocument.model_validate({"default_channels": [channel]})

    assert doc.default_channels == [channel]


def test_explicit_null_target_is_the_same_as_absent() -> None:
    doc = RoutingDocument.model_validate(
        {"routes": [{"cluster": None, "workspace": "platform-team", "channels": ["C0P"], "severities": None}]}
    )

    assert doc.to_json_dict()["routes"] == [{"workspace": "platform-team", "channels": ["C0P"]}]


def test_duplicate_channels_are_dropped_keeping_first_occurrence() -> None:
    doc = RoutingDocument.model_validate(
        {
            "default_channels": ["C0B", "C0A", "C0B"],
            "digest_channels": ["C0D", "C0D"],
            "routes": [{"cluster": "prod", "channels": ["C0Z", "C0A", "C0Z", "C0A", "C0Y"]}],
        }
    )

    assert doc.default_channels == ["C0B", "C0A"]
    assert doc.digest_channels == ["C0D"]
    assert doc.routes[0].channels == ["C0Z", "C0A", "C0Y"]


def test_duplicate_severities_are_dropped_keeping_first_occurrence() -> None:
    doc = RoutingDocument.model_validate(
        {
            "routes": [
                {"cluster": "prod", "channels": ["C0P"], "severities": ["warning", "critical", "warning"]}
            ]
        }
    )

    assert doc.routes[0].severities == ["warning", "critical"]


def test_maximum_number_of_channels_per_list_is_accepted() -> None:
    channels = [f"C0{n}" for n in range(MAX_CHANNELS_PER_LIST)]
    doc = RoutingDocument.model_validate({"default_channels": channels})

    assert doc.default_channels == channels


def test_maximum_number_of_routes_is_accepted() -> None:
    routes = [{"cluster": f"cluster-{n}", "channels": ["C0P"]} for n in range(MAX_ROUTES)]

    assert len(RoutingDocument.model_validate({"routes": routes}).routes) == MAX_ROUTES


def test_all_channels_lists_every_channel_the_document_mentions() -> None:
    doc = RoutingDocument.model_validate(CONTRACT_EXAMPLE)

    assert all_channels(doc) == {"C0DEFAULT", "C0DIGEST", "C0PROD", "C0LEADS", "C0PLATFORM"}


def test_all_channels_of_an_empty_document_is_empty() -> None:
    assert all_channels(RoutingDocument()) == set()


# --- refused documents: each names exactly the field at fault ---

INVALID_CASES: list[tuple[str, Any, str, str]] = [
    # (case, document, field named in details, words expected in its message)
    ("unknown top-level field", _with(colour="red"), "colour", "unknown field"),
    (
        "unknown route field (typo)",
        _with_route(1, {"workspace": "platform-team", "channel": ["C0P"], "channels": ["C0P"]}),
        "routes.1.channel",
        "unknown field",
    ),
    ("empty default channel", _with(default_channels=["C0DEFAULT", ""]), "default_channels.1", "empty"),
    ("empty digest channel", _with(digest_channels=[""]), "digest_channels.0", "empty"),
    (
        "empty route channel",
        _with_route(1, {"workspace": "platform-team", "channels": [""]}),
        "routes.1.channels.0",
        "empty",
    ),
    ("lowercase id", _with(default_channels=["c0default"]), "default_channels.0", "not a Slack channel id"),
    ("channel name", _with(default_channels=["#alerts"]), "default_channels.0", "not the channel name"),
    ("bare channel name", _with(default_channels=["alerts"]), "default_channels.0", "not a Slack channel id"),
    ("direct message id", _with(default_channels=["D0123ABCD"]), "default_channels.0", "direct message"),
    ("user id", _with(default_channels=["U0123ABCD"]), "default_channels.0", "not a Slack channel id"),
    ("prefix only", _with(default_channels=["C"]), "default_channels.0", "not a Slack channel id"),
    ("punctuation", _with(default_channels=["C0-PROD"]), "default_channels.0", "not a Slack channel id"),
    (
        "surrounding space",
        _with(default_channels=[" C0PROD"]),
        "default_channels.0",
        "not a Slack channel id",
    ),
    ("too long", _with(default_channels=["C" + "0" * 20]), "default_channels.0", "at most 20"),
    ("channel id not a string", _with(default_channels=[123]), "default_channels.0", "must be a string"),
    ("channels not a list", _with(default_channels="C0DEFAULT"), "default_channels", "must be a list"),
    (
        "too many channels",
        _with(default_channels=[f"C0{n}" for n in range(MAX_CHANNELS_PER_LIST + 1)]),
        "default_channels",
        f"at most {MAX_CHANNELS_PER_LIST}",
    ),
    (
        "too many routes",
        _with(routes=[{"cluster": f"c{n}", "channels": ["C0P"]} for n in range(MAX_ROUTES + 1)]),
        "routes",
        f"at most {MAX_ROUTES}",
    ),
    ("route neither cluster nor workspace", _with_route(0, {"channels": ["C0P"]}), "routes.0", "either"),
    (
        "route with only null targets",
        _with_route(0, {"cluster": None, "workspace": None, "channels": ["C0P"]}),
        "routes.0",
        "either",
    ),
    (
        "route with both cluster and workspace",
        _with_route(1, {"cluster": "prod", "workspace": "platform-team", "channels": ["C0P"]}),
        "routes.1",
        "not both",
    ),
    (
        "route without channels",
        _with_route(1, {"workspace": "platform-team"}),
        "routes.1.channels",
        "required",
    ),
    (
        "route with no channel",
        _with_route(1, {"workspace": "platform-team", "channels": []}),
        "routes.1.channels",
        "at least one channel",
    ),
    (
        "unknown severity",
        _with_route(0, {"cluster": "prod", "channels": ["C0P"], "severities": ["critical", "page"]}),
        "routes.0.severities.1",
        "'critical', 'warning' or 'info'",
    ),
    (
        "severity in capitals",
        _with_route(0, {"cluster": "prod", "channels": ["C0P"], "severities": ["Critical"]}),
        "routes.0.severities.0",
        "'critical', 'warning' or 'info'",
    ),
    (
        "empty severities",
        _with_route(0, {"cluster": "prod", "channels": ["C0P"], "severities": []}),
        "routes.0.severities",
        "omit `severities`",
    ),
    ("empty cluster", _with_route(0, {"cluster": "", "channels": ["C0P"]}), "routes.0.cluster", "empty"),
    (
        "cluster with trailing space",
        _with_route(0, {"cluster": "prod ", "channels": ["C0P"]}),
        "routes.0.cluster",
        "whitespace",
    ),
    (
        "cluster not a string",
        _with_route(0, {"cluster": 7, "channels": ["C0P"]}),
        "routes.0.cluster",
        "string",
    ),
    (
        "empty workspace",
        _with_route(1, {"workspace": "", "channels": ["C0P"]}),
        "routes.1.workspace",
        "empty",
    ),
    ("route not an object", _with_route(1, "platform-team"), "routes.1", "JSON object"),
    ("document not an object", [CONTRACT_EXAMPLE], "", "JSON object"),
]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_document_is_refused_naming_only_the_field_at_fault(
    data: Any, field: str, words: str
) -> None:
    body = _error_body(data)

    assert body["error"] == "invalid_routing"
    assert [detail["field"] for detail in body["details"]] == [field]
    assert words in body["details"][0]["message"]
    assert words in body["message"]


def test_message_names_the_field_in_readable_form() -> None:
    body = _error_body(_with_route(1, {"workspace": "platform-team", "channels": ["C0P", ""]}))

    assert body["message"].startswith("invalid routing document: routes[1].channels[1]: ")
    assert body["details"] == [{"field": "routes.1.channels.1", "message": "channel id must not be empty"}]


def test_every_error_is_reported_not_only_the_first() -> None:
    body = _error_body(
        {
            "default_channels": [""],
            "routes": [
                {"cluster": "prod", "channels": ["C0P"], "severities": ["fatal"]},
                {"channels": ["C0P"]},
            ],
            "owner": "me",
        }
    )

    assert {detail["field"] for detail in body["details"]} == {
        "default_channels.0",
        "routes.0.severities.0",
        "routes.1",
        "owner",
    }
    for readable in ("default_channels[0]:", "routes[0].severities[0]:", "routes[1]:", "owner:"):
        assert readable in body["message"]


def test_long_error_lists_are_summarised_in_the_message_but_kept_in_details() -> None:
    body = _error_body({"default_channels": ["x"] * 8})

    assert len(body["details"]) == 8
    assert "default_channels[4]:" in body["message"]
    assert "default_channels[5]:" not in body["message"]
    assert body["message"].endswith("(and 3 more)")


def test_rejected_values_are_not_echoed_back() -> None:
    pasted_secret = "xoxb-1111-2222-abcdefSECRET"
    body = _error_body(_with(default_channels=[pasted_secret]))

    assert pasted_secret not in repr(body)
    assert body["details"][0]["field"] == "default_channels.0"


def test_malformed_json_is_refused_with_the_same_error_shape() -> None:
    with pytest.raises(ValidationError) as caught:
        RoutingDocument.model_validate_json('{"routes": [')
    body = validation_error_body(caught.value)

    assert body["error"] == "invalid_routing"
    assert body["details"][0]["field"] == ""
    assert body["message"].startswith("invalid routing document: document: ")


def test_a_validated_document_cannot_be_changed_behind_the_validator() -> None:
    doc = RoutingDocument.model_validate(CONTRACT_EXAMPLE)

    with pytest.raises(ValidationError):
        doc.default_channels = ["not-an-id"]  # type: ignore[misc]
