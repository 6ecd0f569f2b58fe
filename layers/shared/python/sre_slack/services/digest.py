"""One tenant's daily digest: decide where it goes, read the counters, post once per channel.

DynamoDB requests for a tenant whose digest is posted to one channel: one Query for installation + routing +
channel health (`load_tenant_config`), one Query for eight days of counters, then the marker claim before and
the `posted` write after the post. A tenant that is skipped costs the first Query only.

What happens on each Slack failure class (`slack_errors.classify`):
- transient and certainly not posted (503 / service_unavailable, connection refused) and rate limited (429):
  the marker becomes `failed_retryable` and the job is retried by SQS (a 429 after its Retry-After); posted
  channels stay posted.
- transient and maybe posted (internal_error, fatal_error, 500/502/504, read timeout, connection reset), or a
  claim left by a worker that died mid-post: never posted again automatically. `settle_unknowns` copies the job
  to the dead-letter queue with the channels, then marks them `unknown` (channel health `delivery_unknown`,
  metric). An operator's redrive of that copy posts them once more (docs/digest.md).
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

from sre_slack.domain.digest_stats import Digest, build_digest
from sre_slack.observability import get_logger
from sre_slack.queues.dead_letter import Redrive, delivery_unknown_reason, send_to_dead_letter_queue
from sre_slack.services.digest_fanout import DigestJob
from sre_slack.storage import digest_markers as markers
from sre_slack.storage.counters import read_day_counts

if TYPE_CHECKING:
    from sre_slack.blocks.investigation import SlackMessage
    from sre_slack.slack.errors import SlackFailure
    from sre_slack.storage.installations import Installation


class ChannelStatus(StrEnum):
    POSTED = "posted"
    ALREADY_POSTED = "already_posted"
    # Another invocation holds a fresh claim: retry later, by then it has posted or its claim is stale.
    IN_PROGRESS = "in_progress"
    SKIPPED = "skipped"
    FAILED_RETRYABLE = "failed_retryable"
    FAILED_PERMANENT = "failed_permanent"
    # Slack may or may not have the digest: copied to the dead-letter queue, not posted again automatically.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    status: ChannelStatus
    reason: str | None = None
    ts: str | None = None
    retry_after: int | None = None
    # UNKNOWN because the claim was left by an invocation that died (rather than an ambiguous Slack answer).
    stale_claim: bool = False


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
    def unknown(self) -> list[ChannelOutcome]:
        return [c for c in self.channels if c.status == ChannelStatus.UNKNOWN]

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
            from sre_slack.slack.tokens import bot_token

            self._token = bot_token(self._installation)
        return self._token


def run_job(job: DigestJob, *, redrive: Redrive | None = None) -> JobOutcome:
    """Build and post the digest of `job.day` for `job.tenant_id` to each of its digest channels. `redrive`:
    the job was moved back from the dead-letter queue by an operator; its unknown channels may post once more.
    Channels whose outcome is unknown come back as UNKNOWN: the caller must `settle_unknowns`."""
    from sre_slack.domain.routing import resolve_digest_channels
    from sre_slack.storage.tenant_config import load_tenant_config

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
        redriven_from = redrive.source_message_id if redrive is not None and redrive.allows(channel) else None
        result = _post_to_channel(tenant, day, channel, outcome.message, token, redriven_from)
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
    from sre_slack.blocks.digest import build_digest_message
    from sre_slack.contracts.settings import get_settings

    return build_digest_message(digest, portal_url=get_settings().portal_url or None)


def _post_to_channel(tenant: str, day: date, channel: str, message: SlackMessage, token: _TokenCache,
                     redriven_from: str | None) -> ChannelOutcome:
    from sre_slack.slack.tokens import TokenUnavailable

    logger = get_logger()
    where = {"tenant_id": tenant, "day": day.isoformat(), "channel": channel}
    claim = markers.claim(tenant, day, channel, redriven_from=redriven_from)
    if not claim.claimed:
        if claim.status == markers.MarkerStatus.POSTED:
            logger.info("digest already posted", ts=claim.ts, **where)
            return ChannelOutcome(channel, ChannelStatus.ALREADY_POSTED, ts=claim.ts)
        if claim.status == markers.MarkerStatus.POSTING:
            if claim.stale():
                # The invocation holding it died, maybe after Slack took the post: ambiguous, not re-posted.
                logger.warning("digest claim left by a dead invocation: outcome unknown", **where)
                return ChannelOutcome(channel, ChannelStatus.UNKNOWN, "stale_claim", stale_claim=True)
            logger.info("digest being posted by another invocation", **where)
            return ChannelOutcome(channel, ChannelStatus.IN_PROGRESS, "claimed_by_another_invocation")
        if claim.status == markers.MarkerStatus.UNKNOWN:
            if redriven_from:
                logger.warning("redrive refused: the marker is not the unknown one of this dead-letter copy",
                               source_message_id=redriven_from, **where)
            else:
                logger.info("digest outcome unknown earlier; not posted again", reason=claim.reason, **where)
            return ChannelOutcome(channel, ChannelStatus.SKIPPED, f"unknown_earlier: {claim.reason}")
        logger.info("digest failed for good earlier", reason=claim.reason, **where)
        return ChannelOutcome(channel, ChannelStatus.SKIPPED, f"failed_earlier: {claim.reason}")
    if redriven_from:
        logger.warning("redriven by an operator: posting the unknown digest once more", source_message_id=redriven_from,
                       **where)

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
        from sre_slack.slack.errors import classify
        from sre_slack.slack.poster import maybe_posted

        failure = classify(exc)
        if maybe_posted(exc, failure):
            # The marker stays `posting` until the dead-letter copy exists (settle_unknowns).
            logger.warning("digest post outcome unknown", error=failure.error, status=failure.status, **where)
            return ChannelOutcome(channel, ChannelStatus.UNKNOWN, failure.error)
        return _failed(tenant, day, channel, failure)
    markers.mark_posted(tenant, day, channel, ts)
    logger.info("digest posted", tenant_id=tenant, day=day.isoformat(), channel=channel, ts=ts)
    return ChannelOutcome(channel, ChannelStatus.POSTED, ts=ts)


def _post(bot_token: str, channel: str, message: SlackMessage) -> str:
    from sre_slack.slack.client import write_client

    response = write_client(bot_token).chat_postMessage(
        channel=channel, unfurl_links=False, unfurl_media=False, **message.as_kwargs()
    )
    return str(response["ts"])


def _failed(tenant: str, day: date, channel: str, failure: SlackFailure) -> ChannelOutcome:
    from sre_slack.slack.errors import FailureClass
    from sre_slack.storage.installations import mark_refused_by_slack
    from sre_slack.storage.tenant_config import record_channel_failing

    logger = get_logger()
    reason = failure.describe()
    logger.warning("digest post failed", tenant_id=tenant, day=day.isoformat(), channel=channel,
                   failure_class=str(failure.failure_class), error=failure.error, status=failure.status)
    if failure.retryable:
        markers.mark_failed(tenant, day, channel, reason, retryable=True)
        return ChannelOutcome(channel, ChannelStatus.FAILED_RETRYABLE, reason, retry_after=failure.retry_after)
    markers.mark_failed(tenant, day, channel, reason, retryable=False)
    if failure.failure_class == FailureClass.CHANNEL:
        record_channel_failing(tenant, channel, failure.error)
    elif failure.failure_class == FailureClass.INSTALLATION:
        mark_refused_by_slack(tenant, failure.error)
        return ChannelOutcome(channel, ChannelStatus.FAILED_PERMANENT, f"installation: {failure.error}")
    return ChannelOutcome(channel, ChannelStatus.FAILED_PERMANENT, reason)


def settle_unknowns(outcome: JobOutcome, *, body: str, message_id: str) -> None:
    """Copy the job to the dead-letter queue with its unknown channels, then mark them `unknown` (in that order:
    if the copy fails, the markers stay `posting`, go stale, and a later receive tries again). Raises
    `DeadLetterQueueMissing` without a DEAD_LETTER_QUEUE_URL."""
    from aws_lambda_powertools.metrics import MetricUnit

    from sre_slack.observability import get_metrics
    from sre_slack.storage.tenant_config import record_delivery_unknown

    unknown = outcome.unknown
    if not unknown:
        return
    reason = delivery_unknown_reason({c.channel: c.reason or "unknown" for c in unknown})
    send_to_dead_letter_queue(body, reason=reason, source_message_id=message_id,
                              unknown_channels=[c.channel for c in unknown])
    for channel in unknown:
        detail = (f"delivery_unknown: {channel.reason}; the digest may be in the channel, so it is not posted again "
                  "unless the dead-letter copy is redriven")
        if markers.mark_unknown(outcome.tenant_id, outcome.day, channel.channel, detail, source_message_id=message_id,
                                stale_only=channel.stale_claim):
            record_delivery_unknown(outcome.tenant_id, channel.channel, channel.reason or "unknown")
            get_metrics().add_metric(name="DigestDeliveryUnknown", unit=MetricUnit.Count, value=1)
    get_logger().warning("digest outcome unknown: job copied to the dead-letter queue", tenant_id=outcome.tenant_id,
                         day=outcome.day.isoformat(), reason=reason, message_id=message_id)


__all__ = ["ChannelOutcome", "ChannelStatus", "JobOutcome", "run_job", "settle_unknowns"]
