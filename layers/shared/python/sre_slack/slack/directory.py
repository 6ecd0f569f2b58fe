"""The workspace's channels as the bot sees them: what the portal's channel picker offers and what a routing
document is checked against.

- `conversations.list` (Tier 2, about 20 calls a minute) with `types=public_channel,private_channel`,
  `exclude_archived=true` and Slack's largest page (1,000), following cursors. A bot token sees every public
  channel but only the private channels it has been invited to; a private channel the bot is not in is
  invisible to it (the listing and `conversations.info` both say "not found").
- The listing is cached per container for a minute, keyed by tenant, team and (a hash of) the token: the
  picker asks repeatedly while the admin types, and a reinstall (new token, maybe new scopes) misses the cache
  by construction. The cache is bounded so one container serving many tenants cannot grow without limit.
- A 429 is never slept out here (a Lambda would be billed for the wait and may time out): it surfaces as a
  `SlackCallFailed` carrying Slack's Retry-After for the caller to pass on. A 429 halfway through the pages
  fails the whole listing; a partial list would look like missing channels.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sre_slack import container
from sre_slack.domain.delivery_policy import FailureClass
from sre_slack.observability import get_logger
from sre_slack.slack.client import read_client
from sre_slack.slack.errors import SlackCallFailed, classify

CACHE_TTL_SECONDS = 60.0
MAX_CACHED_WORKSPACES = 64
PAGE_LIMIT = 1000
# 15 pages (15,000 visible channels) take a few seconds; more would run into the function's 10 s timeout and
# Tier 2's budget. Beyond that the listing is marked incomplete rather than failing outright.
MAX_PAGES = 15
LIST_TYPES = "public_channel,private_channel"
# conversations.info lookups per check, to tell an archived channel from one that does not exist.
MAX_INFO_LOOKUPS = 10


@dataclass(frozen=True, slots=True)
class SlackChannel:
    id: str
    name: str
    is_private: bool
    is_member: bool
    is_archived: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SlackChannel:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or data.get("name_normalized") or data["id"]),
            is_private=bool(data.get("is_private") or data.get("is_group")),
            is_member=bool(data.get("is_member")),
            is_archived=bool(data.get("is_archived")),
        )

    def to_json(self) -> dict[str, Any]:
        """The picker's view of a channel (CONTRACT.md `GET /slack/channels`)."""
        return {"id": self.id, "name": self.name, "is_private": self.is_private, "is_member": self.is_member}


@dataclass(frozen=True)
class ChannelListing:
    team_id: str
    channels: tuple[SlackChannel, ...]
    # Wall-clock time of the Slack listing (epoch seconds), for the answer; not used for expiry.
    fetched_at: float
    from_cache: bool = False
    # False when the workspace had more than MAX_PAGES pages of channels.
    complete: bool = True
    by_id: dict[str, SlackChannel] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ChannelLookup:
    """What the workspace says about a set of channel ids."""

    found: dict[str, SlackChannel]
    archived: dict[str, SlackChannel]
    missing: frozenset[str]


@dataclass
class _Entry:
    listing: ChannelListing
    expires: float


_cache: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()


def _cache_key(tenant_id: str, team_id: str, token: str) -> tuple[str, str, str]:
    # Only a digest of the token is kept as a key, never the token itself.
    return tenant_id, team_id, hashlib.sha256(token.encode()).hexdigest()[:16]


@container.keeps
def clear_cache() -> None:
    _cache.clear()


def forget(tenant_id: str) -> None:
    """Drop the tenant's cached listings (after a disconnect or when Slack refused its token)."""
    for key in [k for k in _cache if k[0] == tenant_id]:
        _cache.pop(key, None)


def list_channels(tenant_id: str, team_id: str, token: str, *, refresh: bool = False) -> ChannelListing:
    """The channels the bot can see (public, and private ones it is in), archived excluded, sorted by name.

    Raises SlackCallFailed.
    """
    key = _cache_key(tenant_id, team_id, token)
    now = time.monotonic()
    entry = _cache.get(key)
    if entry is not None and not refresh and entry.expires > now:
        _cache.move_to_end(key)
        cached = entry.listing
        return ChannelListing(cached.team_id, cached.channels, cached.fetched_at, True, cached.complete,
                              cached.by_id)
    listing = _fetch(team_id, token)
    _cache[key] = _Entry(listing, time.monotonic() + CACHE_TTL_SECONDS)
    _cache.move_to_end(key)
    while len(_cache) > MAX_CACHED_WORKSPACES:
        _cache.popitem(last=False)
    return listing


def _fetch(team_id: str, token: str) -> ChannelListing:
    client = read_client(token)
    channels: dict[str, SlackChannel] = {}
    cursor: str | None = None
    complete = False
    for _page in range(MAX_PAGES):
        try:
            response = client.conversations_list(types=LIST_TYPES, exclude_archived=True, limit=PAGE_LIMIT,
                                                 cursor=cursor)
        except Exception as exc:  # every Slack/network failure is classified, none is swallowed
            raise SlackCallFailed(classify(exc)) from exc
        for data in response.get("channels") or []:
            channel = SlackChannel.from_api(data)
            # Slack may repeat a channel across pages while the workspace changes; keep one.
            if not channel.is_archived:
                channels[channel.id] = channel
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            complete = True
            break
    if not complete:
        get_logger().warning("channel listing truncated", team_id=team_id, pages=MAX_PAGES, channels=len(channels))
    ordered = tuple(sorted(channels.values(), key=lambda c: (c.name, c.id)))
    return ChannelListing(team_id, ordered, time.time(), False, complete, {c.id: c for c in ordered})


def find_channels(tenant_id: str, team_id: str, token: str, channel_ids: Iterable[str]) -> ChannelLookup:
    """Look the ids up in the workspace: visible channels, archived ones, and ids the bot cannot see at all.

    A cached listing may predate a channel the admin just created, so an id it lacks triggers one fresh
    listing before it counts as missing. Ids still missing then are asked about one by one
    (`conversations.info`, up to MAX_INFO_LOOKUPS) to tell archived channels from unknown ones.
    Raises SlackCallFailed when the listing fails, or a lookup fails because of the installation.
    """
    wanted = list(dict.fromkeys(channel_ids))
    listing = list_channels(tenant_id, team_id, token)
    if listing.from_cache and any(c not in listing.by_id for c in wanted):
        listing = list_channels(tenant_id, team_id, token, refresh=True)
    found = {c: listing.by_id[c] for c in wanted if c in listing.by_id}
    archived: dict[str, SlackChannel] = {}
    missing = [c for c in wanted if c not in found]
    for channel_id in missing[:MAX_INFO_LOOKUPS]:
        channel = _info(token, channel_id)
        if channel is None:
            continue
        if channel.is_archived:
            archived[channel_id] = channel
        else:
            # Created (or the bot invited) between the listing and now.
            found[channel_id] = channel
    return ChannelLookup(found, archived, frozenset(c for c in missing if c not in found and c not in archived))


def _info(token: str, channel_id: str) -> SlackChannel | None:
    try:
        response = read_client(token).conversations_info(channel=channel_id)
    except Exception as exc:  # classified below
        failure = classify(exc)
        if failure.failure_class == FailureClass.INSTALLATION:
            raise SlackCallFailed(failure) from exc
        # channel_not_found, or Slack too busy to say: either way the channel is not confirmed to exist.
        return None
    data = response.get("channel")
    return SlackChannel.from_api(data) if isinstance(data, dict) else None


def channel_info(token: str, channel_id: str) -> SlackChannel | None:
    """`conversations.info` for one channel: None when Slack says it does not exist (for this bot); raises
    SlackCallFailed for any other failure, so that the caller can tell "not found" from "Slack is busy"."""
    try:
        response = read_client(token).conversations_info(channel=channel_id)
    except Exception as exc:  # classified below
        failure = classify(exc)
        if failure.error == "channel_not_found":
            return None
        raise SlackCallFailed(failure) from exc
    data = response.get("channel")
    return SlackChannel.from_api(data) if isinstance(data, dict) else None
