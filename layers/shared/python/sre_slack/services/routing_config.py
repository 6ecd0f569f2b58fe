"""Routing configuration: the channel picker, and storing a tenant's routing document (strict validation, every
channel checked against the workspace).

Order of a PUT: the document is parsed strictly (`RoutingDocument`, unknown fields and malformed ids are
refused before anything else happens), then every channel id it mentions is looked up in the workspace, and
only a document that passes both is written, in one request. A refused PUT therefore leaves the previous
document exactly as it was.

What the workspace lookup decides:
- an id the bot cannot see at all (after one fresh listing) is refused: it does not exist in this workspace,
  or it is a private channel the bot has not been invited to. Slack shows a bot's token no trace of private
  channels it is not in, so the two cannot be told apart; the message says how to fix either;
- an archived channel is refused (Slack rejects every post to it);
- a channel the bot sees but cannot post to until invited (a private channel it is not a member of, or a public
  one when the installation lacks `chat:write.public`) is stored, and the answer carries a warning that says
  to invite the bot, rather than failing silently at the first alert.

After a successful write, stale delivery-health records are cleared: channels no longer routed, and routed
channels marked as permanently failing (archived, not found, bot removed), which posting skips "until the
routing changes": the admin has just re-confirmed them and the check found them in the workspace. The next
post re-records a failure that is still real (e.g. the bot has still not been invited).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sre_slack.contracts.routing import DEFAULT_WINDOW_MINUTES, RoutingDocument, problems_message
from sre_slack.observability import get_logger
from sre_slack.services import workspace
from sre_slack.slack import directory
from sre_slack.slack.errors import SlackCallFailed
from sre_slack.storage.tenant_config import TenantConfig, clear_channel_health, load_tenant_config, put_routing

PUBLIC_POSTING_SCOPE = "chat:write.public"
EMPTY_DOCUMENT: dict[str, Any] = {"default_channels": [], "digest_channels": [], "routes": []}


@dataclass(frozen=True)
class RoutingWarning:
    channel: str
    fields: tuple[str, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "fields": list(self.fields), "message": self.message}


@dataclass(frozen=True)
class ChannelProblem:
    channel: str
    fields: tuple[str, ...]
    reason: str  # "not_found" | "archived"
    message: str


class RoutingRejected(Exception):
    """The document names channels the workspace cannot take; nothing was stored."""

    def __init__(self, problems: list[ChannelProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))

    def body(self) -> dict[str, Any]:
        """The 400 answer: `details` has one entry per field naming a refused channel."""
        return {
            "error": "invalid_channel",
            "message": problems_message([f"{p.fields[0]}: {p.message}" for p in self.problems]),
            "details": [
                {"field": f, "channel": p.channel, "reason": p.reason, "message": p.message}
                for p in self.problems
                for f in p.fields
            ],
        }


@dataclass(frozen=True)
class StoredRouting:
    document: dict[str, Any]
    updated_at: int | None
    warnings: tuple[RoutingWarning, ...] = field(default=())


def channel_fields(doc: RoutingDocument) -> dict[str, tuple[str, ...]]:
    """Each channel id of the document -> the fields naming it (`routes.1.channels.0`), in document order."""
    places: dict[str, list[str]] = {}
    for name in ("default_channels", "digest_channels"):
        for i, channel in enumerate(getattr(doc, name)):
            places.setdefault(channel, []).append(f"{name}.{i}")
    for r, route in enumerate(doc.routes):
        for i, channel in enumerate(route.channels):
            places.setdefault(channel, []).append(f"routes.{r}.channels.{i}")
    return {channel: tuple(fields) for channel, fields in places.items()}


def check_channels(doc: RoutingDocument, lookup: directory.ChannelLookup, *, scopes: tuple[str, ...],
                   team_name: str) -> list[RoutingWarning]:
    """Decide on every channel of the document from what the workspace said. Raises RoutingRejected."""
    problems: list[ChannelProblem] = []
    warnings: list[RoutingWarning] = []
    for channel_id, fields in channel_fields(doc).items():
        if channel_id in lookup.archived:
            name = lookup.archived[channel_id].name
            problems.append(ChannelProblem(channel_id, fields, "archived",
                                           f"channel {channel_id} (#{name}) is archived; Slack refuses posts to it"))
            continue
        channel = lookup.found.get(channel_id)
        if channel is None:
            problems.append(ChannelProblem(
                channel_id, fields, "not_found",
                f"channel {channel_id} is not in the Slack workspace {team_name} as far as the bot can see: check "
                "the id, or if it is a private channel, invite the bot to it first (/invite in that channel)"))
            continue
        if not channel.is_member and (channel.is_private or PUBLIC_POSTING_SCOPE not in scopes):
            warnings.append(RoutingWarning(
                channel_id, fields,
                f"the bot is not a member of #{channel.name}: invite the bot (in Slack, type /invite in "
                f"#{channel.name} and pick the app), otherwise messages routed there cannot be posted"))
    if problems:
        raise RoutingRejected(problems)
    return warnings


def stored_routing(tenant_id: str) -> StoredRouting:
    """The tenant's document as stored, or the empty document (with all three keys) when there is none."""
    config = load_tenant_config(tenant_id)
    if config.routing_raw is None:
        return StoredRouting(dict(EMPTY_DOCUMENT), None)
    return StoredRouting({**EMPTY_DOCUMENT, **config.routing_raw}, config.routing_updated_at)


def save_routing(tenant_id: str, doc: RoutingDocument) -> StoredRouting:
    """Check the document's channels against the workspace and store it in one write. Raises RoutingRejected
    (nothing stored), NotInstalled or SlackCallFailed."""
    config = load_tenant_config(tenant_id)
    token = workspace.active_token(config.installation)
    installation = config.installation
    assert installation is not None
    fields = channel_fields(doc)
    try:
        lookup = directory.find_channels(tenant_id, installation.team_id, token, fields)
    except SlackCallFailed as exc:
        raise workspace.refused(installation, exc.failure) from exc
    warnings = check_channels(doc, lookup, scopes=installation.scopes, team_name=installation.team_name)
    document = {**EMPTY_DOCUMENT, **doc.to_json_dict()}
    updated_at = put_routing(tenant_id, document)
    _clear_stale_health(config, set(fields))
    get_logger().info("routing stored", tenant_id=tenant_id, channels=len(fields), routes=len(doc.routes),
                      warnings=len(warnings))
    return StoredRouting(document, updated_at, tuple(warnings))


def channel_picker(tenant_id: str, *, refresh: bool = False) -> dict[str, Any]:
    """What the portal's channel picker offers (CONTRACT.md `GET /slack/channels`). Raises NotInstalled or
    SlackCallFailed."""
    config = load_tenant_config(tenant_id)
    installation = config.installation
    token = workspace.active_token(installation)
    assert installation is not None
    try:
        listing = directory.list_channels(tenant_id, installation.team_id, token, refresh=refresh)
    except SlackCallFailed as exc:
        raise workspace.refused(installation, exc.failure) from exc
    # How the stored routing groups alert storms (CONTRACT.md "Alert grouping"), for the picker's settings.
    window = config.routing.window_minutes if config.routing is not None else DEFAULT_WINDOW_MINUTES
    body: dict[str, Any] = {
        "channels": [channel.to_json() for channel in listing.channels],
        "grouping": {"enabled": window is not None, "window_minutes": window},
        "fetched_at": datetime.fromtimestamp(listing.fetched_at, UTC).isoformat().replace("+00:00", "Z"),
    }
    if not listing.complete:
        body["truncated"] = True
    return body


def _clear_stale_health(config: TenantConfig, routed: set[str]) -> None:
    stale = [c for c, health in config.channel_health.items() if c not in routed or health.permanent]
    for channel_id in stale:
        try:
            clear_channel_health(config.tenant_id, channel_id)
        except Exception:  # the document is stored; a leftover health record is only cosmetic
            get_logger().warning("could not clear channel health", tenant_id=config.tenant_id,
                                 channel=channel_id, exc_info=True)
