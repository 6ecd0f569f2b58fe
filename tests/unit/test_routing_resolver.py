"""Where an investigation and the digest are posted, given the tenant's routing document."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sre_slack.contracts.routing import RoutingDocument, all_channels
from sre_slack.domain.routing import (
    REASON_NO_ROUTE,
    REASON_NO_ROUTING_DOCUMENT,
    RoutingDecision,
    most_severe_routed_severity,
    resolve_channels,
    resolve_digest_channels,
)


def _doc(data: dict[str, Any]) -> RoutingDocument:
    return RoutingDocument.model_validate(data)


CONTRACT_DOC = _doc(
    {
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
)


# --- precedence on the contract's example ---


def test_cluster_route_wins_over_workspace_route() -> None:
    decision = resolve_channels(
        CONTRACT_DOC, cluster="production-us-east", workspace="platform-team", severity="critical"
    )

    assert decision.channels == ("C0PROD", "C0LEADS")
    assert decision.level == "cluster"
    assert decision.matched_routes == (0,)
    assert decision.reason is None


def test_workspace_route_applies_when_no_cluster_route_matches() -> None:
    decision = resolve_channels(
        CONTRACT_DOC, cluster="staging", workspace="platform-team", severity="critical"
    )

    assert decision.channels == ("C0PLATFORM",)
    assert decision.level == "workspace"
    assert decision.matched_routes == (1,)


def test_cluster_route_outside_its_severities_falls_through_to_workspace_route() -> None:
    decision = resolve_channels(
        CONTRACT_DOC, cluster="production-us-east", workspace="platform-team", severity="info"
    )

    assert decision.channels == ("C0PLATFORM",)
    assert decision.level == "workspace"


def test_cluster_route_outside_its_severities_falls_through_to_default() -> None:
    decision = resolve_channels(CONTRACT_DOC, cluster="production-us-east", workspace=None, severity="info")

    assert decision.channels == ("C0DEFAULT",)
    assert decision.level == "default"
    assert decision.matched_routes == ()


def test_default_channels_when_nothing_matches() -> None:
    decision = resolve_channels(CONTRACT_DOC, cluster="staging", workspace="data-team", severity="warning")

    assert decision.channels == ("C0DEFAULT",)
    assert decision.level == "default"
    assert decision.reason is None


def test_investigation_without_workspace_never_matches_a_workspace_route() -> None:
    decision = resolve_channels(CONTRACT_DOC, cluster="staging", workspace=None, severity="critical")

    assert decision.level == "default"


def test_digest_channels_are_not_used_for_investigations() -> None:
    decision = resolve_channels(CONTRACT_DOC, cluster="staging", workspace=None, severity="critical")

    assert "C0DIGEST" not in decision.channels


# --- merging and de-duplication ---


def test_all_matching_routes_of_the_winning_level_are_merged_in_route_order() -> None:
    doc = _doc(
        {
            "default_channels": ["C0DEFAULT"],
            "routes": [
                {"cluster": "prod", "channels": ["C0A", "C0B"]},
                {"workspace": "team", "channels": ["C0TEAM"]},
                {"cluster": "other", "channels": ["C0OTHER"]},
                {"cluster": "prod", "channels": ["C0C"], "severities": ["critical"]},
                {"cluster": "prod", "channels": ["C0D"], "severities": ["info"]},
            ],
        }
    )

    decision = resolve_channels(doc, cluster="prod", workspace="team", severity="critical")

    assert decision.channels == ("C0A", "C0B", "C0C")
    assert decision.matched_routes == (0, 3)


def test_a_channel_named_by_several_matching_routes_gets_one_message() -> None:
    doc = _doc(
        {
            "routes": [
                {"workspace": "team", "channels": ["C0B", "C0A"]},
                {"workspace": "team", "channels": ["C0A", "C0C", "C0B"]},
            ],
        }
    )

    decision = resolve_channels(doc, cluster="prod", workspace="team", severity="warning")

    assert decision.channels == ("C0B", "C0A", "C0C")
    assert decision.level == "workspace"


def test_workspace_routes_are_ignored_once_a_cluster_route_matches() -> None:
    doc = _doc(
        {
            "default_channels": ["C0DEFAULT"],
            "routes": [
                {"workspace": "team", "channels": ["C0TEAM"]},
                {"cluster": "prod", "channels": ["C0PROD"]},
            ],
        }
    )

    decision = resolve_channels(doc, cluster="prod", workspace="team", severity="info")

    assert decision.channels == ("C0PROD",)


def test_names_are_compared_exactly() -> None:
    doc = _doc({"routes": [{"cluster": "Prod", "channels": ["C0PROD"]}]})

    assert resolve_channels(doc, cluster="prod", workspace=None, severity="info").channels == ()
    assert resolve_channels(doc, cluster="Prod", workspace=None, severity="info").channels == ("C0PROD",)


def test_route_without_severities_matches_every_severity() -> None:
    doc = _doc({"routes": [{"cluster": "prod", "channels": ["C0PROD"]}]})

    for severity in ("critical", "warning", "info"):
        assert resolve_channels(doc, cluster="prod", workspace=None, severity=severity).channels == (
            "C0PROD",
        )


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("critical", ("C0PAGE",)), ("warning", ("C0PAGE", "C0WARN")), ("info", ("C0WS",))],
)
def test_severities_narrow_each_route(severity: str, expected: tuple[str, ...]) -> None:
    doc = _doc(
        {
            "routes": [
                {"cluster": "prod", "channels": ["C0PAGE"], "severities": ["critical", "warning"]},
                {"cluster": "prod", "channels": ["C0WARN"], "severities": ["warning"]},
                {"workspace": "team", "channels": ["C0WS"], "severities": ["info"]},
            ],
        }
    )

    assert resolve_channels(doc, cluster="prod", workspace="team", severity=severity).channels == expected


# --- nothing to post to ---


def test_no_routing_document_is_an_empty_decision_not_an_error() -> None:
    decision = resolve_channels(None, cluster="prod", workspace="team", severity="critical")

    assert decision == RoutingDecision(channels=(), level="none", reason=REASON_NO_ROUTING_DOCUMENT)


def test_nothing_matching_and_no_default_is_an_empty_decision() -> None:
    doc = _doc({"routes": [{"cluster": "prod", "channels": ["C0PROD"], "severities": ["critical"]}]})

    decision = resolve_channels(doc, cluster="prod", workspace=None, severity="info")

    assert decision == RoutingDecision(channels=(), level="none", reason=REASON_NO_ROUTE)


def test_empty_document_is_an_empty_decision() -> None:
    decision = resolve_channels(RoutingDocument(), cluster="prod", workspace="team", severity="critical")

    assert decision.channels == ()
    assert decision.reason == REASON_NO_ROUTE


# --- the digest ---


def test_digest_goes_to_digest_channels() -> None:
    assert resolve_digest_channels(CONTRACT_DOC) == ("C0DIGEST",)


def test_digest_falls_back_to_default_channels() -> None:
    doc = _doc(
        {"default_channels": ["C0DEFAULT", "C0OPS"], "routes": [{"cluster": "p", "channels": ["C0P"]}]}
    )

    assert resolve_digest_channels(doc) == ("C0DEFAULT", "C0OPS")


def test_digest_without_digest_or_default_channels_goes_nowhere() -> None:
    doc = _doc({"routes": [{"cluster": "prod", "channels": ["C0PROD"]}]})

    assert resolve_digest_channels(doc) == ()
    assert resolve_digest_channels(None) == ()


# --- invariants over arbitrary documents ---

CLUSTERS = ["prod", "staging", "dev"]
WORKSPACES = ["team-a", "team-b"]
SEVERITIES = ["critical", "warning", "info"]
CHANNELS = ["C0A", "C0B", "C0C", "C0D", "C0E", "G0F"]

channel_lists = st.lists(st.sampled_from(CHANNELS), max_size=5)
severity_filters = st.none() | st.lists(st.sampled_from(SEVERITIES), min_size=1, max_size=3)
routes = st.builds(
    lambda target, name, channels, severities: {
        target: name,
        "channels": channels,
        **({} if severities is None else {"severities": severities}),
    },
    st.sampled_from(["cluster", "workspace"]),
    st.sampled_from(CLUSTERS + WORKSPACES),
    st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=4),
    severity_filters,
)
documents = st.builds(
    lambda default, digest, rs: _doc({"default_channels": default, "digest_channels": digest, "routes": rs}),
    channel_lists,
    channel_lists,
    st.lists(routes, max_size=6),
)
investigations = st.fixed_dictionaries(
    {
        "cluster": st.sampled_from(CLUSTERS),
        "workspace": st.none() | st.sampled_from(WORKSPACES),
        "severity": st.sampled_from(SEVERITIES),
    }
)


def _matching(doc: RoutingDocument, attribute: str, name: str | None, severity: str) -> list[int]:
    return [
        index
        for index, route in enumerate(doc.routes)
        if name is not None
        and getattr(route, attribute) == name
        and (route.severities is None or severity in route.severities)
    ]


@given(documents, investigations)
def test_result_only_names_channels_of_the_document_once_each(
    doc: RoutingDocument, investigation: dict[str, Any]
) -> None:
    decision = resolve_channels(doc, **investigation)

    assert set(decision.channels) <= all_channels(doc)
    assert len(decision.channels) == len(set(decision.channels))


@given(documents, investigations)
def test_result_is_deterministic(doc: RoutingDocument, investigation: dict[str, Any]) -> None:
    reparsed = RoutingDocument.model_validate(doc.to_json_dict())

    assert resolve_channels(doc, **investigation) == resolve_channels(reparsed, **investigation)


@given(documents, investigations)
def test_matching_cluster_routes_decide_alone(doc: RoutingDocument, investigation: dict[str, Any]) -> None:
    matching = _matching(doc, "cluster", investigation["cluster"], investigation["severity"])
    decision = resolve_channels(doc, **investigation)

    if matching:
        expected = {channel for index in matching for channel in doc.routes[index].channels}
        assert decision.level == "cluster"
        assert decision.matched_routes == tuple(matching)
        assert set(decision.channels) == expected
    else:
        assert decision.level != "cluster"


@given(documents, investigations)
def test_workspace_routes_decide_only_without_a_cluster_match(
    doc: RoutingDocument, investigation: dict[str, Any]
) -> None:
    by_cluster = _matching(doc, "cluster", investigation["cluster"], investigation["severity"])
    by_workspace = _matching(doc, "workspace", investigation["workspace"], investigation["severity"])
    decision = resolve_channels(doc, **investigation)

    if not by_cluster and by_workspace:
        expected = {channel for index in by_workspace for channel in doc.routes[index].channels}
        assert decision.level == "workspace"
        assert set(decision.channels) == expected
    else:
        assert decision.level != "workspace"


@given(documents, investigations)
def test_channels_keep_route_order_then_channel_order(
    doc: RoutingDocument, investigation: dict[str, Any]
) -> None:
    severity = investigation["severity"]
    deciding_routes = _matching(doc, "cluster", investigation["cluster"], severity) or _matching(
        doc, "workspace", investigation["workspace"], severity
    )
    in_document_order = [channel for index in deciding_routes for channel in doc.routes[index].channels]
    first_occurrences = sorted(set(in_document_order), key=in_document_order.index)

    decision = resolve_channels(doc, **investigation)

    if deciding_routes:
        assert list(decision.channels) == first_occurrences


@given(documents, investigations)
def test_default_channels_are_used_only_when_no_route_matches(
    doc: RoutingDocument, investigation: dict[str, Any]
) -> None:
    any_route_matches = bool(
        _matching(doc, "cluster", investigation["cluster"], investigation["severity"])
        or _matching(doc, "workspace", investigation["workspace"], investigation["severity"])
    )
    decision = resolve_channels(doc, **investigation)

    if any_route_matches:
        assert decision.level in ("cluster", "workspace")
    else:
        assert decision.channels == tuple(doc.default_channels)


@given(st.none() | documents, investigations)
def test_empty_result_always_carries_a_reason_and_only_then(
    doc: RoutingDocument | None, investigation: dict[str, Any]
) -> None:
    decision = resolve_channels(doc, **investigation)

    assert (decision.channels == ()) == (decision.reason is not None)
    assert (decision.level == "none") == (decision.reason is not None)


# ---------------------------------------------------------------------------------------------- Test Integration


@pytest.mark.parametrize(("routes", "workspace", "expected"), [
    ([], None, "critical"),  # default channels take every severity
    ([{"cluster": "prod", "channels": ["C0A"], "severities": ["critical"]}], None, "critical"),
    ([{"cluster": "prod", "channels": ["C0A"], "severities": ["info", "warning"]}], None, "warning"),
    ([{"cluster": "prod", "channels": ["C0A"], "severities": ["info"]},
      {"cluster": "prod", "channels": ["C0B"], "severities": ["warning"]}], None, "warning"),
    ([{"cluster": "prod", "channels": ["C0A"]}], None, "critical"),
    # Cluster routes are the most specific level: a workspace route's severities do not count beside them.
    ([{"cluster": "prod", "channels": ["C0A"], "severities": ["info"]},
      {"workspace": "team", "channels": ["C0B"], "severities": ["critical"]}], "team", "info"),
    ([{"workspace": "team", "channels": ["C0B"], "severities": ["warning"]}], "team", "warning"),
    ([{"workspace": "team", "channels": ["C0B"], "severities": ["warning"]}], None, "critical"),
    ([{"cluster": "staging", "channels": ["C0B"], "severities": ["info"]}], None, "critical"),
])
def test_the_sample_severity_is_the_most_severe_the_cluster_routes_take(
        routes: list[dict[str, Any]], workspace: str | None, expected: str) -> None:
    doc = _doc({"default_channels": ["C0DEFAULT"], "routes": routes})
    severity = most_severe_routed_severity(doc, cluster="prod", workspace=workspace)
    assert severity == expected
    # ...and a sample of it reaches the routes it was chosen from.
    decision = resolve_channels(doc, cluster="prod", workspace=workspace, severity=severity)
    assert decision.channels


def test_the_sample_severity_without_a_routing_document_is_the_most_severe() -> None:
    assert most_severe_routed_severity(None, cluster="prod", workspace=None) == "critical"
