"""Slack lifecycle events: the app was uninstalled, its tokens were revoked, a routed channel went away.

Slack sends `app_uninstalled` and `tokens_revoked` in either order, sometimes twice, and retries whatever
it thinks failed: every handler here is idempotent (marking an installation revoked twice is the same as
once). Events name a Slack team only; several tenants of ours may have installed that team, so each applies
to every tenant of the team (`ByTeam` index). A team nobody installed is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sre_slack.contracts.slack_payloads import EventCallback
from sre_slack.observability import get_logger
from sre_slack.storage.installations import InstallationStatus, mark_installation, tenants_for_team
from sre_slack.storage.tenant_config import clear_channel_health, load_tenant_config, record_channel_failing

REVOKING_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})
# Event -> the reason recorded in delivery health: the same codes chat.postMessage answers for such a channel.
CHANNEL_GONE_EVENTS = {
    "channel_archive": "is_archived",
    "group_archive": "is_archived",
    "channel_deleted": "channel_not_found",
    "group_deleted": "channel_not_found",
}
CHANNEL_BACK_EVENTS = frozenset({"channel_unarchive", "group_unarchive"})


def handle_event(envelope: EventCallback) -> list[str]:
    """Apply one event; returns the tenants it touched (empty when it concerned none of ours)."""
    logger = get_logger()
    event_type = envelope.event.type
    team_id = envelope.team_id
    if not team_id:
        logger.info("event without a team ignored", event_type=event_type)
        return []
    if event_type not in REVOKING_EVENTS and event_type not in CHANNEL_GONE_EVENTS and \
            event_type not in CHANNEL_BACK_EVENTS:
        logger.info("event ignored", event_type=event_type)
        return []
    tenants = tenants_for_team(team_id)
    if not tenants:
        logger.info("event for a team without installation ignored", event_type=event_type, team_id=team_id)
        return []
    if event_type in REVOKING_EVENTS:
        if event_type == "tokens_revoked" and envelope.event.tokens is not None and not envelope.event.tokens.bot:
            # Only user tokens were revoked; we hold none, so the bot still works.
            logger.info("tokens_revoked without bot tokens ignored", team_id=team_id)
            return []
        return _revoke(tenants, event_type, team_id)
    channel_id = envelope.event.channel_id
    if not channel_id:
        logger.warning("channel event without a channel id", event_type=event_type)
        return []
    return _channel_changed(tenants, event_type, channel_id)


def _revoke(tenants: Iterable[str], event_type: str, team_id: str) -> list[str]:
    touched = []
    for tenant in tenants:
        if mark_installation(tenant, InstallationStatus.REVOKED, event_type, drop_tokens=True):
            touched.append(tenant)
            get_logger().info("installation revoked by Slack", tenant_id=tenant, team_id=team_id,
                              event_type=event_type)
    return touched


def routing_channels(routing: dict[str, Any] | None) -> set[str]:
    """Every channel a routing document sends anything to (investigations or the digest)."""
    if not isinstance(routing, dict):
        return set()
    found: set[str] = set()
    for name in ("default_channels", "digest_channels"):
        found.update(c for c in routing.get(name) or [] if isinstance(c, str))
    for route in routing.get("routes") or []:
        if isinstance(route, dict):
            found.update(c for c in route.get("channels") or [] if isinstance(c, str))
    return found


def _channel_changed(tenants: Iterable[str], event_type: str, channel_id: str) -> list[str]:
    touched = []
    for tenant in tenants:
        config = load_tenant_config(tenant)
        if event_type in CHANNEL_BACK_EVENTS:
            health = config.channel_health.get(channel_id)
            if health is not None and health.reason == "is_archived":
                clear_channel_health(tenant, channel_id)
                touched.append(tenant)
            continue
        if channel_id not in routing_channels(config.routing_raw):
            continue
        record_channel_failing(tenant, channel_id, CHANNEL_GONE_EVENTS[event_type])
        touched.append(tenant)
        get_logger().warning("routed channel is gone", tenant_id=tenant, channel_id=channel_id,
                             event_type=event_type)
    return touched
