"""Which channels an investigation (or the digest) goes to: the one resolver every posting function uses.

Precedence (CONTRACT.md "Routing document"), most specific level first:

1. cluster: every route whose `cluster` equals the investigation's cluster and whose `severities` (where
   given) include its severity;
2. workspace: only if no cluster route matched, every route whose `workspace` equals the investigation's
   workspace (an investigation without a workspace matches no workspace route), with the same severity
   filter;
3. default: only if no route of either level matched, `default_channels`.

Decisions the contract leaves open, made here:

- A route filtered out by `severities` does not match, so resolution continues at the next level.
  "`severities` narrows a route to those severities": outside them the route is as if absent. A cluster
  route for critical alerts therefore sends warnings of that cluster to the workspace route or the default
  channels rather than nowhere, which is what an operator who only wanted to narrow the cluster route
  expects.
- Every matching route of the winning level contributes: their channels are merged in route order, then
  channel order, and no channel appears twice (one message per channel).
- Names compare exactly (case-sensitive), as the investigation engine reports them.
- Nothing to post to is a decision, not an error: `channels` is empty and `reason` says why, so callers log
  it and record the delivery as skipped instead of failing (and retrying) the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from sre_slack.contracts.routing import Route, RoutingDocument, Severity

RoutingLevel = Literal["cluster", "workspace", "default", "none"]

REASON_NO_ROUTING_DOCUMENT = "no_routing_document"
REASON_NO_ROUTE = "no_route"

# Most severe first (the contract's order).
SEVERITIES_BY_RANK: tuple[Severity, ...] = get_args(Severity)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The channels to post to, and for the logs, how they were chosen.

    `matched_routes` are the indexes (in the document) of the routes that contributed, empty for the default
    level. `reason` is set exactly when `channels` is empty.
    """

    channels: tuple[str, ...]
    level: RoutingLevel
    matched_routes: tuple[int, ...] = ()
    reason: str | None = None
    # Channels whose alerts are posted alone (`"grouping": false` on a route naming them, or on the document).
    ungrouped: frozenset[str] = frozenset()
    # The storm window for the other channels (CONTRACT.md "Alert grouping"); None: grouping is off everywhere.
    window_minutes: int | None = None

    def grouping_window(self, channel: str) -> int | None:
        """Minutes of the storm window for alerts to `channel`, or None when they are posted alone."""
        return None if channel in self.ungrouped else self.window_minutes


def _merge_channels(routes: list[Route]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(channel for route in routes for channel in route.channels))


def resolve_channels(
    doc: RoutingDocument | None, *, cluster: str, workspace: str | None, severity: str
) -> RoutingDecision:
    """The channels an investigation of `cluster` (in `workspace`) with `severity` is posted to."""
    if doc is None:
        return RoutingDecision(channels=(), level="none", reason=REASON_NO_ROUTING_DOCUMENT)

    candidates = [(i, route) for i, route in enumerate(doc.routes) if route.matches_severity(severity)]
    cluster_matches = [(index, route) for index, route in candidates if route.cluster == cluster]
    if cluster_matches:
        return _decision(doc, "cluster", cluster_matches)
    if workspace is not None:
        workspace_matches = [(index, route) for index, route in candidates if route.workspace == workspace]
        if workspace_matches:
            return _decision(doc, "workspace", workspace_matches)
    if doc.default_channels:
        return RoutingDecision(channels=tuple(doc.default_channels), level="default",
                               window_minutes=doc.window_minutes)
    return RoutingDecision(channels=(), level="none", reason=REASON_NO_ROUTE)


def _decision(doc: RoutingDocument, level: RoutingLevel, matches: list[tuple[int, Route]]) -> RoutingDecision:
    # A validated route always has channels, so a matching level never yields an empty decision.
    # A channel named by any matching route with `grouping: false` gets its alerts alone: off wins.
    ungrouped = frozenset(c for _, route in matches if route.grouping is False for c in route.channels)
    return RoutingDecision(
        channels=_merge_channels([route for _, route in matches]),
        level=level,
        matched_routes=tuple(index for index, _ in matches),
        ungrouped=ungrouped,
        window_minutes=doc.window_minutes,
    )


def resolve_digest_channels(doc: RoutingDocument | None) -> tuple[str, ...]:
    """Where the tenant's daily digest goes: `digest_channels`, or `default_channels` where that is empty."""
    if doc is None:
        return ()
    return tuple(doc.digest_channels or doc.default_channels)


def most_severe_routed_severity(doc: RoutingDocument | None, *, cluster: str, workspace: str | None) -> Severity:
    """The most severe severity the routes of `cluster` take (the routes of its most specific level, whatever
    their severities), so that a sample of it exercises those routes: a critical-only cluster route is tested
    with a critical sample. Without such routes every severity goes to the same place: the most severe one."""
    routes = [route for route in (doc.routes if doc else []) if route.cluster == cluster]
    if not routes and workspace is not None:
        routes = [route for route in (doc.routes if doc else []) if route.workspace == workspace]
    taken = {severity for route in routes for severity in (route.severities or SEVERITIES_BY_RANK)}
    return next((severity for severity in SEVERITIES_BY_RANK if severity in taken), SEVERITIES_BY_RANK[0])
