"""One tenant's daily digest: decide where it goes, read the counters, post once per channel.

DynamoDB requests for a tenant whose digest is posted to one channel: one Query for installation + routing +
channel health (`load_tenant_config`), one Query for eight days of counters, then the marker claim before and
the `posted` write after the post. A tenant that is skipped costs the first Query only.

What happens on each Slack failure class (`slack_errors.classify`):
- transient (5xx, connection reset, internal_error) and rate limited (429): the marker becomes
  `failed_retryable` and the job is retried by SQS (a 429 after its Retry-After); posted channels stay posted.
- channel (archived, deleted, bot removed): the channel's health is recorded as permanently failing, so later
  digests skip it until the routing changes; the marker is `failed_permanent`. Not retried.
- installation (token revoked, invalid_auth, ...): the installation is marked inactive or revoked, which also
  takes the tenant out of the fan-out; not retried.
- payload (Slack refuses the message itself): `failed_permanent`, logged; retrying would fail the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from sre_slack.digest import markers
from sre_slack.digest.counts_store import read_day_counts
from sre_slack.digest.jobs import DigestJob
from sre_slack.digest.stats import Digest, build_digest
from sre_slack.log import get_logger

if TYPE_CHECKING:
    from sre_slack.messages.investigation import SlackMessage
    from sre_slack.slack_errors import SlackFailure
    from sre_slack.store.installations import Installation


class ChannelStatus(StrEnum):
    POSTED = "posted"
    ALREADY_POSTED = "already_posted"
    # Another invocation holds a fresh claim: retry later, by then it has posted or its claim is stale.
    IN_PROGRESS = "in_progress"
    SKIPPED = "skipped"
    FAILED_RETRYABLE = "failed_retryable"
    FAILED_PERMANENT = "failed_permanent"


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    status: ChannelStatus
    reason: str | None = None
    ts: str | None = None
    retry_after: int | None = None


@dataclass
class JobOutcome:
    tenant_id: str
    day: date
    # Set when the whole tenant was skipped (no installation, no digest routing, ...).
    skipped_reason: str | None = None
    channels: list[ChannelOutcome] = field(default_factory=list)
    digest: Digest | None = None
    message: SlackMessage | None = None

    @property
    def needs_retry(self) -> bool:
        return any(c.status in (ChannelStatus.FAILED_RETRYABLE, ChannelStatus.IN_PROGRESS) for c in self.channels)

    @property
    def retry_after(self) -> int | None:
        """Seconds until a retry can succeed, when Slack said so (429); None means the queue's default."""
        waits = [c.retry_after for c in self.channels if c.retry_after is not None]
        return max(waits) if waits else None


class _TokenCache:
    """The bot token, fetched (and rotated when due) only once a channel is actually claimed: a duplicate job
    whose channels were all posted never decrypts it."""

    def __init__(self, installation: Installation) -> None:
        self._installation = installation
        self._token: str | None = None

    def get(self) -> str:
        if self._token is None:
            from sre_slack.tokens import bot_token

            self._token = bot_token(self._installation)
        return self._token


def run_job(job: DigestJob) -> JobOutcome:
    """Build and post the digest of `job.day` for `job.tenant_id` to each of its digest channels."""
    from sre_slack.routing import resolve_digest_channels
    from sre_slack.store.tenant_config import load_tenant_config

    logger = get_logger()
    tenant, day = job.tenant_id, job.day
    outcome = JobOutcome(tenant, day)

    config = load_tenant_config(tenant)
    installation = config.installation
    if installation is None:
        return _skip(outcome, "no_installation")
    if not installation.is_active:
        return _skip(outcome, f"installation_{installation.status}")
    try:
        routing = config.routing
    except ValueError as exc:  # pydantic's ValidationError: a stored document that no longer validates
        logger.warning("stored routing document is invalid", tenant_id=tenant, error=str(exc)[:500])
        return _skip(outcome, "invalid_routing_document")
    channels = resolve_digest_channels(routing)
    if not channels:
        return _skip(outcome, "no_digest_routing")

    postable: list[str] = []
    for channel in dict.fromkeys(channels):
        health = config.channel_health.get(channel)
        if health is not None and health.permanent:
            reason = f"channel_failing: {health.reason or health.status}"
            outcome.channels.append(ChannelOutcome(channel, ChannelStatus.SKIPPED, reason))
            logger.info("digest channel skipped", tenant_id=tenant, day=day.isoformat(), channel=channel,
                        reason=reason)
        else:
            postable.append(channel)
    if not postable:
        outcome.skipped_reason = "all_digest_channels_failing"
        return outcome

    outcome.digest = build_digest(day, read_day_counts(tenant, day))
    outcome.message = _message(outcome.digest)
    token = _TokenCache(installation)
    for index, channel in enumerate(postable):
        result = _post_to_channel(tenant, day, channel, outcome.message, token)
        outcome.channels.append(result)
        if result.reason is not None and result.reason.startswith("installation:"):
            # The token is gone for every channel: do not hammer Slack with it.
            outcome.channels += [ChannelOutcome(c, ChannelStatus.SKIPPED, result.reason) for c in postable[index + 1:]]
            break
    return outcome


def _skip(outcome: JobOutcome, reason: str) -> JobOutcome:
    get_logger().info("digest skipped", tenant_id=outcome.tenant_id, day=outcome.day.isoformat(), reason=reason)
    outcome.skipped_reason = reason
    return outcome


def _message(digest: Digest) -> SlackMessage:
    from sre_slack.config import get_settings
    from sre_slack.messages.digest import build_digest_message

    return build_digest_message(digest, portal_url=get_settings().portal_url or None)


def _post_to_channel(tenant: str, day: date, channel: str, message: SlackMessage, token: _TokenCache) -> ChannelOutcome:
    from sre_slack.tokens import TokenUnavailable

    logger = get_logger()
    claim = markers.claim(tenant, day, channel)
    if not claim.claimed:
        if claim.status == markers.MarkerStatus.POSTED:
            logger.info("digest already posted", tenant_id=tenant, day=day.isoformat(), channel=channel, ts=claim.ts)
            return ChannelOutcome(channel, ChannelStatus.ALREADY_POSTED, ts=claim.ts)
        if claim.status == markers.MarkerStatus.POSTING:
            logger.info("digest being posted by another invocation", tenant_id=tenant, day=day.isoformat(),
                        channel=channel)
            return ChannelOutcome(channel, ChannelStatus.IN_PROGRESS, "claimed_by_another_invocation")
        logger.info("digest failed for good earlier", tenant_id=tenant, day=day.isoformat(), channel=channel,
                    reason=claim.reason)
        return ChannelOutcome(channel, ChannelStatus.SKIPPED, f"failed_earlier: {claim.reason}")

    try:
        bot_token = token.get()
    except TokenUnavailable as exc:
        markers.mark_failed(tenant, day, channel, f"token: {exc.reason}", retryable=not exc.permanent)
        logger.warning("no bot token for the digest", tenant_id=tenant, day=day.isoformat(), reason=exc.reason,
                       permanent=exc.permanent)
        if exc.permanent:
            return ChannelOutcome(channel, ChannelStatus.FAILED_PERMANENT, f"installation: {exc.reason}")
        return ChannelOutcome(channel, ChannelStatus.FAILED_RETRYABLE, f"token: {exc.reason}")

    try:
        ts = _post(bot_token, channel, message)
    except Exception as exc:  # every Slack failure is classified; nothing escapes unrecorded
        from sre_slack.slack_errors import classify

        return _failed(tenant, day, channel, classify(exc))
    markers.mark_posted(tenant, day, channel, ts)
    logger.info("digest posted", tenant_id=tenant, day=day.isoformat(), channel=channel, ts=ts)
    return ChannelOutcome(channel, ChannelStatus.POSTED, ts=ts)


def _post(bot_token: str, channel: str, message: SlackMessage) -> str:
    from sre_slack.slack_api import write_client

    response = write_client(bot_token).chat_postMessage(
        channel=channel, unfurl_links=False, unfurl_media=False, **message.as_kwargs()
    )
    return str(response["ts"])


def _failed(tenant: str, day: date, channel: str, failure: SlackFailure) -> ChannelOutcome:
    from sre_slack.slack_errors import TOKEN_GONE_ERRORS, FailureClass
    from sre_slack.store.installations import InstallationStatus, mark_installation
    from sre_slack.store.tenant_config import record_channel_health

    logger = get_logger()
    reason = failure.describe()
    logger.warning("digest post failed", tenant_id=tenant, day=day.isoformat(), channel=channel,
                   failure_class=str(failure.failure_class), error=failure.error, status=failure.status)
    if failure.retryable:
        markers.mark_failed(tenant, day, channel, reason, retryable=True)
        return ChannelOutcome(channel, ChannelStatus.FAILED_RETRYABLE, reason, retry_after=failure.retry_after)
    markers.mark_failed(tenant, day, channel, reason, retryable=False)
    if failure.failure_class == FailureClass.CHANNEL:
        record_channel_health(tenant, channel, status="failing", reason=failure.error, permanent=True)
    elif failure.failure_class == FailureClass.INSTALLATION:
        gone = failure.error in TOKEN_GONE_ERRORS
        mark_installation(tenant, InstallationStatus.REVOKED if gone else InstallationStatus.INACTIVE,
                          failure.error, drop_tokens=gone)
        return ChannelOutcome(channel, ChannelStatus.FAILED_PERMANENT, f"installation: {failure.error}")
    return ChannelOutcome(channel, ChannelStatus.FAILED_PERMANENT, reason)


__all__ = ["ChannelOutcome", "ChannelStatus", "JobOutcome", "run_job"]
