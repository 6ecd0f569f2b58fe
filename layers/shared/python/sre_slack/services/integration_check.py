"""Test Integration: check that a sample for a cluster can be posted, then enqueue it on the real queue.

Preflight first, so the portal can say precisely what to fix instead of a sample that silently goes nowhere: the
installation is active, the routing sends this cluster's alerts somewhere, and the bot can post in every one of
those channels (asked with conversations.info: public channels take posts through chat:write.public, private ones
need the bot as a member). Then a sample investigation marked `test: true` is enqueued on the investigation queue
and travels the same path as a real one. A channel that passes the preflight loses its "failing" mark, so posting
resumes there.

The sample's severity is the portal's choice; by default it is the most severe one the cluster's routes take
(domain.routing.most_severe_routed_severity), so a route narrowed to critical alerts is what gets tested.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sre_slack.contracts.investigation import Severity
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.routing import most_severe_routed_severity, resolve_channels
from sre_slack.domain.sample_investigation import sample_investigation
from sre_slack.observability import get_logger
from sre_slack.queues.sender import send_message
from sre_slack.services import workspace
from sre_slack.slack import directory
from sre_slack.slack.errors import SlackCallFailed
from sre_slack.storage.tenant_config import TenantConfig, clear_channel_health, load_tenant_config

PUBLIC_POSTING_SCOPE = "chat:write.public"


class CheckFailed(Exception):
    """Something the admin must fix before a sample can arrive: `code` and a message saying what to do."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class QueueUnavailable(Exception):
    """The investigation queue refused the sample: the portal must not announce a test that will never arrive."""


@dataclass(frozen=True)
class CheckStarted:
    investigation_id: str
    channels: tuple[str, ...]
    severity: Severity


def run_check(tenant: str, cluster: str, workspace_name: str | None, severity: Severity | None = None) -> CheckStarted:
    """Preflight, then enqueue a sample of `severity` (default: the most severe one the cluster's routes take)."""
    channels, severity = preflight(tenant, cluster, workspace_name, severity)
    investigation_id = enqueue_sample(tenant, cluster, workspace_name, severity)
    get_logger().info("test investigation enqueued", tenant_id=tenant, investigation_id=investigation_id,
                      channels=list(channels), severity=severity)
    return CheckStarted(investigation_id, channels, severity)


def preflight(tenant: str, cluster: str, workspace_name: str | None,
              severity: Severity | None = None) -> tuple[tuple[str, ...], Severity]:
    """The channels a sample for `cluster` goes to, once each is known to accept the bot's posts, and its
    severity."""
    config = load_tenant_config(tenant)
    installation = config.installation
    if installation is None:
        raise CheckFailed("not_installed", "Slack is not connected: install the app first")
    if not installation.is_active:
        raise CheckFailed("installation_inactive",
                          f"the Slack installation is {installation.status} ({installation.status_reason}); "
                          "reinstall the app", status=str(installation.status))
    if config.routing is None:
        raise CheckFailed("no_routing", "no routing is configured: choose the channels alerts go to")
    if severity is None:
        severity = most_severe_routed_severity(config.routing, cluster=cluster, workspace=workspace_name)
    decision = resolve_channels(config.routing, cluster=cluster, workspace=workspace_name, severity=severity)
    if not decision.channels:
        raise CheckFailed("no_channel_for_cluster",
                          f"the routing sends no {severity} alerts of cluster {cluster!r} to any channel "
                          "(no matching route and no default channels)", cluster=cluster, severity=severity)
    _check_channels(config, decision.channels)
    return decision.channels, severity


def _check_channels(config: TenantConfig, channels: tuple[str, ...]) -> None:
    installation = config.installation
    assert installation is not None
    token = workspace.active_token(installation)
    can_post_public = PUBLIC_POSTING_SCOPE in installation.scopes
    for channel_id in channels:
        try:
            info = directory.channel_info(token, channel_id)
        except SlackCallFailed as exc:
            raise workspace.refused(installation, exc.failure) from exc
        if info is None:
            raise CheckFailed("channel_not_found", f"channel {channel_id} does not exist or is private without the "
                              "bot in it; invite the bot or change the routing", channel=channel_id)
        if info.is_archived:
            raise CheckFailed("channel_archived", f"channel #{info.name} is archived; unarchive it or change the "
                              "routing", channel=channel_id)
        if not info.is_member:
            if info.is_private:
                raise CheckFailed("bot_not_in_channel", f"the bot is not a member of the private channel "
                                  f"#{info.name}; invite it with /invite @AI SRE", channel=channel_id)
            if not can_post_public:
                raise CheckFailed("bot_not_in_channel", f"the bot is not a member of #{info.name} and lacks "
                                  "chat:write.public; invite it or reinstall the app", channel=channel_id)
        if channel_id in config.channel_health:
            clear_channel_health(config.tenant_id, channel_id)


def enqueue_sample(tenant: str, cluster: str, workspace_name: str | None, severity: Severity) -> str:
    settings = get_settings()
    portal = f"{settings.portal_url}/integrations/slack" if settings.portal_url else None
    message = sample_investigation(tenant, cluster, severity=severity, workspace=workspace_name, portal_url=portal)
    try:
        send_message(settings.require("investigation_queue_url"), json.dumps(message))
    except Exception as exc:  # the portal must not announce a sample that will never arrive
        get_logger().exception("test investigation could not be enqueued", tenant_id=tenant)
        raise QueueUnavailable(str(type(exc).__name__)) from exc
    return str(message["investigation_id"])
