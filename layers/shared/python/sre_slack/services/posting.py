"""One SQS record of the investigation queue -> its outcome: done, retry later, or dead letter.

`investigation.completed`, first sighting (the common case, 3 DynamoDB requests and 1 Slack call per channel):
1. `load_tenant_config`: installation, routing and channel health in one Query;
2. one transaction: SEEN + the alert counters + a `posting` claim (or a final status) per routed channel;
3. post to the claimed channels in parallel, paced per channel; record each result on its delivery record.

Seen before (a redelivery, a retry, a re-investigation) or `alert.resolved`: read the investigation's items
(one Query) and bring every channel to the wanted state: post what is due for a retry, chat.update what shows
an older rendering, leave alone what is final. See `records` for the delivery state machine and
docs/posting.md for the policies.

A post whose outcome is unknown (an ambiguous Slack answer, or a claim left by an invocation that died) is never
posted again automatically: the record is copied to the dead-letter queue with the unknown channels
(`sre_slack.queues.dead_letter`) and those deliveries become `unknown`. Redriving that copy posts them once more.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from sre_slack.contracts.investigation import (
    AlertResolved,
    InvalidMessage,
    InvestigationCompleted,
    parse_investigation_message,
)
from sre_slack.observability import get_logger
from sre_slack.queues.dead_letter import (
    DeadLetterQueueMissing,
    Redrive,
    delivery_unknown_reason,
    send_to_dead_letter_queue,
)
from sre_slack.slack.pacing import Deadline, channel_pacer, post_pool
from sre_slack.slack.poster import SlackResult, Verdict, describe_for_log, not_attempted
from sre_slack.storage import ledger as records
from sre_slack.storage.ledger import (
    NO_CHANNEL,
    DeliveryRecord,
    DeliveryStatus,
    InitialDelivery,
    StoredInvestigation,
)

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from sre_slack.blocks.investigation import SlackMessage
    from sre_slack.storage.ratings import Rating
    from sre_slack.storage.tenant_config import TenantConfig

# A Slack call may take this long (slack_api.TIMEOUT_SECONDS) plus a second to record its result.
SLACK_CALL_BUDGET_SECONDS = 6.0
# How long after an invocation's deadline its `posting` lease still counts as alive (clock skew, slow writes).
LEASE_MARGIN_SECONDS = 10.0
# A record that waits for someone else's live lease comes back after about this long.
IN_FLIGHT_RETRY_SECONDS = 30


class Outcome(StrEnum):
    DONE = "done"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class RecordOutcome:
    outcome: Outcome
    reason: str = ""
    # Seconds until the record should be received again (429 Retry-After); None keeps the queue's default.
    retry_after: int | None = None

    @staticmethod
    def done(reason: str = "") -> RecordOutcome:
        return RecordOutcome(Outcome.DONE, reason)

    @staticmethod
    def retry(reason: str, retry_after: int | None = None) -> RecordOutcome:
        return RecordOutcome(Outcome.RETRY, reason, retry_after)


@dataclass(frozen=True)
class QueueRecord:
    """What the pipeline needs of an SQS record (Powertools' SQSRecord, or a test's own)."""

    message_id: str
    body: str
    receive_count: int = 1
    # Set when an operator redrove this message from the dead-letter queue after a `delivery_unknown`.
    redrive: Redrive | None = None


# ------------------------------------------------------------------------------------------------ entry


class TenantConfigs:
    """Tenant configuration read once per batch and tenant: an alert storm brings many records of one tenant
    in a batch, and they all need the same installation and routing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._configs: dict[str, TenantConfig] = {}

    def get(self, tenant_id: str) -> TenantConfig:
        from sre_slack.storage.tenant_config import load_tenant_config

        with self._lock:
            tenant_lock = self._locks.setdefault(tenant_id, threading.Lock())
        with tenant_lock:
            if tenant_id not in self._configs:
                self._configs[tenant_id] = load_tenant_config(tenant_id)
            return self._configs[tenant_id]


def process_record(record: QueueRecord, deadline: Deadline, configs: TenantConfigs | None = None) -> RecordOutcome:
    logger = get_logger()
    try:
        message = parse_investigation_message(record.body)
    except InvalidMessage as exc:
        return dead_letter(record, exc.reason)
    # Records run in parallel threads: thread-safe keys live in the record's own context.
    logger.thread_safe_append_keys(investigation_id=message.investigation_id, tenant_id=message.tenant_id)
    try:
        configs = configs or TenantConfigs()
        unknowns = _Unknowns()
        if isinstance(message, AlertResolved):
            outcome = _resolve(message, deadline, record, configs, unknowns)
        else:
            outcome = _complete(message, deadline, configs, record, unknowns)
        outcome = _dead_letter_unknowns(record, message.tenant_id, message.investigation_id, unknowns, outcome)
    except records.Contention as exc:
        outcome = RecordOutcome.retry(f"concurrent delivery: {exc}")
    finally:
        logger.thread_safe_remove_keys(["investigation_id", "tenant_id"])
    return outcome


def dead_letter(record: QueueRecord, reason: str) -> RecordOutcome:
    """A message that can never be processed goes to the dead-letter queue now, with its reason attached.

    With DEAD_LETTER_QUEUE_URL set the message is copied there and the record succeeds (deleted from the
    source queue): no wasted retries. Without it the record fails every time until SQS moves it after
    maxReceiveCount receives; the reason is logged on each.
    """
    logger = get_logger()
    logger.error("invalid investigation message", message_id=record.message_id, reason=reason,
                 receive_count=record.receive_count)
    _metric("InvalidMessage")
    try:
        send_to_dead_letter_queue(record.body, reason=reason, source_message_id=record.message_id)
    except DeadLetterQueueMissing:
        return RecordOutcome.retry(reason)
    return RecordOutcome(Outcome.DEAD_LETTER, reason)


class _Unknowns:
    """The channels of one record whose post may or may not have reached Slack, collected from the record's
    threads. They are settled `unknown` only once the record's dead-letter copy exists."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # channel -> (error for the operator, reason for the delivery record, only if its lease expired)
        self.items: dict[str, tuple[str, str, bool]] = {}

    def add(self, channel: str, error: str, detail: str, *, expired_lease: bool) -> None:
        with self._lock:
            self.items[channel] = (error, detail, expired_lease)


def _dead_letter_unknowns(record: QueueRecord, tenant: str, investigation_id: str, unknowns: _Unknowns,
                          outcome: RecordOutcome) -> RecordOutcome:
    """Never re-posted automatically, never silently dropped: copy the record to the dead-letter queue with
    the unknown channels, then settle them `unknown` (in that order: if the copy fails, the claims stay
    `posting`, their leases expire and a later receive tries again)."""
    if not unknowns.items:
        return outcome
    logger = get_logger()
    errors = {channel: error for channel, (error, _, _) in unknowns.items.items()}
    reason = delivery_unknown_reason(errors)
    try:
        send_to_dead_letter_queue(record.body, reason=reason, source_message_id=record.message_id,
                                  unknown_channels=errors)
    except DeadLetterQueueMissing:
        logger.error("delivery outcome unknown and no dead-letter queue to copy the message to", reason=reason)
        return RecordOutcome.retry(f"{reason} (no dead-letter queue)")
    for channel, (error, detail, expired_lease) in unknowns.items.items():
        if records.settle_unknown(tenant, investigation_id, channel, reason=detail,
                                  source_message_id=record.message_id, expired_lease_only=expired_lease):
            _note_unknown(tenant, channel, error)
    logger.warning("delivery outcome unknown: message copied to the dead-letter queue", reason=reason,
                   message_id=record.message_id, channels=sorted(errors))
    return outcome


# ------------------------------------------------------------------------------------------------ completed


def _complete(inv: InvestigationCompleted, deadline: Deadline, configs: TenantConfigs, record: QueueRecord,
              unknowns: _Unknowns) -> RecordOutcome:
    tenant = inv.tenant_id
    config = configs.get(tenant)
    session = _SlackSession(config)
    plan = plan_deliveries(config, inv)
    attempt_id = records.new_attempt_id()
    lease_until = _lease_until(deadline)
    first = records.record_first_sighting(tenant, inv, plan, attempt_id=attempt_id, lease_until=lease_until)
    if first:
        _log_first_sighting(inv, plan)
        stored = StoredInvestigation(tenant, inv, records.payload_sha(inv), frozenset({records.payload_sha(inv)}))
        claimed = [DeliveryRecord(d.channel, DeliveryStatus.POSTING, attempt_id=attempt_id, lease_until=lease_until)
                   for d in plan if d.status == DeliveryStatus.POSTING]
        return _run_jobs(session, stored, [_Job("post", d) for d in claimed], deadline, None, unknowns)

    state = records.load_state(tenant, inv.investigation_id)
    if state.stored is None or not state.deliveries:
        # The first sighting always writes SEEN and at least one delivery record together; a Query that races
        # that transaction may see part of it. Come back when it is complete.
        return RecordOutcome.retry("first sighting still being recorded elsewhere", IN_FLIGHT_RETRY_SECONDS)
    stored = state.stored
    sha = records.payload_sha(inv)
    if sha != stored.payload_sha:
        if sha in stored.versions:
            get_logger().info("older version of a re-investigated investigation redelivered; keeping the latest")
        else:
            records.store_reinvestigation(tenant, inv)
            stored = replace(stored, investigation=inv, payload_sha=sha, versions=stored.versions | {sha})
            get_logger().info("re-investigation: updating the posted messages")
            _metric("Reinvestigated")
    return _reconcile(session, stored, state.deliveries.values(), deadline, state.feedback, record.redrive, unknowns)


def plan_deliveries(config: TenantConfig, inv: InvestigationCompleted) -> list[InitialDelivery]:
    """Per routed channel: claim it for posting, or settle it now with the reason it cannot be posted to."""
    from sre_slack.domain.routing import resolve_channels

    installation = config.installation
    decision = resolve_channels(config.routing, cluster=inv.cluster, workspace=inv.workspace,
                                severity=inv.alert.severity)
    channels = list(decision.channels)
    if installation is None:
        return [InitialDelivery(NO_CHANNEL, DeliveryStatus.UNDELIVERABLE, "not_installed")]
    if not installation.is_active:
        reason = f"installation {installation.status}: {installation.status_reason or 'no token'}"
        return [InitialDelivery(c, DeliveryStatus.UNDELIVERABLE, reason) for c in channels or [NO_CHANNEL]]
    if not channels:
        return [InitialDelivery(NO_CHANNEL, DeliveryStatus.SKIPPED, decision.reason or "no_route")]
    plan: list[InitialDelivery] = []
    for channel in channels:
        health = config.channel_health.get(channel)
        # A channel that failed for good stays skipped until the routing is saved again after the failure
        # (or Test Integration finds it postable and clears the mark).
        if health and health.permanent and health.updated_at >= (config.routing_updated_at or 0):
            plan.append(InitialDelivery(channel, DeliveryStatus.SKIPPED, f"channel failing: {health.reason}"))
        else:
            plan.append(InitialDelivery(channel, DeliveryStatus.POSTING))
    return plan


def _log_first_sighting(inv: InvestigationCompleted, plan: list[InitialDelivery]) -> None:
    logger = get_logger()
    for delivery in plan:
        if delivery.status == DeliveryStatus.UNDELIVERABLE:
            logger.warning("investigation undeliverable", channel=delivery.channel, reason=delivery.reason)
            _metric("Undeliverable")
        elif delivery.status == DeliveryStatus.SKIPPED:
            logger.warning("channel skipped", channel=delivery.channel, reason=delivery.reason)
            _metric("ChannelSkipped")
    if not inv.test:
        _metric("AlertCounted")


# ------------------------------------------------------------------------------------------------ resolved


def _resolve(message: AlertResolved, deadline: Deadline, record: QueueRecord, configs: TenantConfigs,
             unknowns: _Unknowns) -> RecordOutcome:
    tenant = message.tenant_id
    if not records.store_resolved(tenant, message.investigation_id, message.resolved_at):
        # SQS does not keep order: the completed message may still be on its way. Retrying lets it arrive
        # first; after maxReceiveCount receives the dead-letter queue keeps this resolve with the reason.
        get_logger().warning("resolve for an investigation not seen yet; will retry",
                             receive_count=record.receive_count)
        return RecordOutcome.retry("investigation not seen yet")
    state = records.load_state(tenant, message.investigation_id)
    if state.stored is None:
        return RecordOutcome.retry("investigation payload not readable yet")
    session = _SlackSession(configs.get(tenant))
    return _reconcile(session, state.stored, state.deliveries.values(), deadline, state.feedback, record.redrive,
                      unknowns)


# ------------------------------------------------------------------------------------------------ reconcile


@dataclass(frozen=True)
class _Job:
    kind: str  # "post" | "update"
    delivery: DeliveryRecord


def _reconcile(session: _SlackSession, stored: StoredInvestigation, deliveries: Iterable[DeliveryRecord],
               deadline: Deadline, feedback: list[Rating], redrive: Redrive | None,
               unknowns: _Unknowns) -> RecordOutcome:
    """Bring every channel of a seen investigation to what `stored` says it should show. An `unknown` channel
    is posted again only when an operator redrove its dead-letter copy (`redrive`), and only once."""
    tenant, investigation_id = stored.tenant_id, stored.investigation.investigation_id
    wanted = stored.render_version
    jobs: list[_Job] = []
    waiting: list[str] = []
    for delivery in deliveries:
        if delivery.status == DeliveryStatus.POSTED:
            if delivery.rendered != wanted and delivery.ts:
                jobs.append(_Job("update", delivery))
        elif delivery.status == DeliveryStatus.RETRY:
            attempt_id = records.new_attempt_id()
            lease_until = _lease_until(deadline)
            if records.claim_retry(tenant, investigation_id, delivery.channel, attempt_id=attempt_id,
                                   lease_until=lease_until):
                jobs.append(_Job("post", replace(delivery, status=DeliveryStatus.POSTING, attempt_id=attempt_id,
                                                 lease_until=lease_until)))
            else:
                waiting.append(delivery.channel)
        elif delivery.status == DeliveryStatus.POSTING:
            if delivery.lease_alive():
                waiting.append(delivery.channel)
            else:
                unknowns.add(delivery.channel, "stale_claim", _STALE_CLAIM_DETAIL, expired_lease=True)
        elif delivery.status == DeliveryStatus.UNKNOWN and redrive is not None and redrive.allows(delivery.channel):
            job = _claim_redriven(tenant, investigation_id, delivery, redrive, deadline)
            if job is not None:
                jobs.append(job)
    outcome = _run_jobs(session, stored, jobs, deadline, feedback, unknowns)
    if waiting and outcome.outcome == Outcome.DONE:
        # Another invocation is posting to these channels right now: come back when it is surely over, to
        # apply this update (or find the post recorded).
        return RecordOutcome.retry(f"delivery in progress elsewhere: {', '.join(waiting)}", IN_FLIGHT_RETRY_SECONDS)
    return outcome


_STALE_CLAIM_DETAIL = ("delivery_unknown: stale_claim: the attempt ended between claiming the channel and recording "
                       "Slack's answer; Slack may or may not have the message; not posted again unless the "
                       "dead-letter copy is redriven")


def _claim_redriven(tenant: str, investigation_id: str, delivery: DeliveryRecord, redrive: Redrive,
                    deadline: Deadline) -> _Job | None:
    """The operator checked the channel, found the message missing and redrove the dead-letter copy."""
    logger = get_logger()
    attempt_id = records.new_attempt_id()
    lease_until = _lease_until(deadline)
    if not records.claim_unknown(tenant, investigation_id, delivery.channel,
                                 source_message_id=redrive.source_message_id, attempt_id=attempt_id,
                                 lease_until=lease_until):
        logger.warning("redrive refused: the delivery is not the unknown one of this dead-letter copy",
                       channel=delivery.channel, source_message_id=redrive.source_message_id)
        return None
    logger.warning("redriven by an operator: posting the unknown delivery once more", channel=delivery.channel,
                   source_message_id=redrive.source_message_id)
    _metric("DeliveryRedriven")
    return _Job("post", replace(delivery, status=DeliveryStatus.POSTING, attempt_id=attempt_id,
                                lease_until=lease_until))


# ------------------------------------------------------------------------------------------------ running jobs


class _SlackSession:
    """The tenant's Slack client, created on first need (a KMS decrypt), shared by the record's threads."""

    def __init__(self, config: TenantConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._client: WebClient | None = None
        self._unavailable: tuple[str, bool] | None = None
        self.installation_failed = False

    def client(self) -> WebClient | None:
        """None when there is no usable token; `unavailable` says why and whether for good."""
        with self._lock:
            if self._client is None and self._unavailable is None:
                self._client, self._unavailable = _make_client(self.config)
            return self._client

    @property
    def unavailable(self) -> tuple[str, bool] | None:
        return self._unavailable


def _make_client(config: TenantConfig) -> tuple[WebClient | None, tuple[str, bool] | None]:
    from sre_slack.slack.client import write_client
    from sre_slack.slack.tokens import TokenUnavailable, bot_token

    installation = config.installation
    if installation is None:
        return None, ("not_installed", True)
    try:
        token = bot_token(installation)
    except TokenUnavailable as exc:
        return None, (exc.reason, exc.permanent)
    return write_client(token), None


def _run_jobs(session: _SlackSession, stored: StoredInvestigation, jobs: list[_Job], deadline: Deadline,
              feedback: list[Rating] | None, unknowns: _Unknowns) -> RecordOutcome:
    if not jobs:
        return RecordOutcome.done("nothing to do")
    client = session.client()
    tenant, investigation_id = stored.tenant_id, stored.investigation.investigation_id
    if client is None:
        reason, permanent = session.unavailable or ("no token", False)
        if not permanent:
            for job in jobs:
                if job.kind == "post":
                    records.release_for_retry(tenant, investigation_id, job.delivery.channel,
                                              attempt_id=job.delivery.attempt_id or "", reason=reason)
            return RecordOutcome.retry(f"bot token unavailable: {reason}")
        for job in jobs:
            if job.kind == "post":
                records.settle(tenant, investigation_id, job.delivery.channel, DeliveryStatus.UNDELIVERABLE, reason)
        get_logger().warning("investigation undeliverable", reason=reason)
        _metric("Undeliverable")
        return RecordOutcome.done(f"undeliverable: {reason}")

    message = render(stored, feedback)
    version = stored.render_version
    futures: list[tuple[_Job, Future[SlackResult]]] = [
        (job, post_pool().submit(contextvars.copy_context().run, _call_slack, client, job, message, deadline))
        for job in jobs
    ]
    outcomes = [_apply_result(session, stored, job, future.result(), version, unknowns) for job, future in futures]
    retries = [o for o in outcomes if o.outcome == Outcome.RETRY]
    if not retries:
        return RecordOutcome.done("; ".join(o.reason for o in outcomes))
    delays = [o.retry_after for o in retries if o.retry_after]
    return RecordOutcome.retry("; ".join(o.reason for o in retries), max(delays) if delays else None)


def render(stored: StoredInvestigation, feedback: list[Rating] | None) -> SlackMessage:
    """The message exactly as posting renders it, with the stored ratings (if any) in its feedback line."""
    from sre_slack.blocks.investigation import build_investigation_message
    from sre_slack.storage.ratings import summarize

    return build_investigation_message(stored.investigation, tenant_id=stored.tenant_id,
                                       resolved_at=stored.resolved_at,
                                       feedback=summarize(feedback) if feedback else None)


def _call_slack(client: WebClient, job: _Job, message: SlackMessage, deadline: Deadline) -> SlackResult:
    from sre_slack.slack.poster import post_message, update_message

    channel = job.delivery.channel
    if job.kind == "update":
        if not deadline.allows(SLACK_CALL_BUDGET_SECONDS):
            return not_attempted("deadline")
        return update_message(client, channel, job.delivery.ts or "", message)
    wait = channel_pacer().reserve(channel, not_after=deadline.at - SLACK_CALL_BUDGET_SECONDS)
    if wait is None:
        return not_attempted("paced: no time left in this invocation for this channel", retry_after=1)
    if wait > 0:
        time.sleep(wait)
    return post_message(client, channel, message)


def _apply_result(session: _SlackSession, stored: StoredInvestigation, job: _Job, result: SlackResult,
                  version: str, unknowns: _Unknowns) -> RecordOutcome:
    """Record what Slack said on the channel's delivery record, and what it means for the SQS record."""
    logger = get_logger()
    tenant, investigation_id = stored.tenant_id, stored.investigation.investigation_id
    channel = job.delivery.channel
    details = {"channel": channel, "action": job.kind, **describe_for_log(result)}
    verdict = result.verdict
    if verdict == Verdict.OK:
        if job.kind == "post":
            records.mark_posted(tenant, investigation_id, channel, ts=result.ts or "", rendered=version)
            _clear_recovered_health(session.config, channel)
            logger.info("investigation posted", ts=result.ts, **details)
            _metric("Posted")
        else:
            records.mark_rendered(tenant, investigation_id, channel, rendered=version)
            logger.info("investigation message updated", ts=result.ts, **details)
            _metric("Updated")
        return RecordOutcome.done(f"{channel}: {job.kind} ok")
    if verdict == Verdict.RETRY:
        if job.kind == "post":
            records.release_for_retry(tenant, investigation_id, channel, attempt_id=job.delivery.attempt_id or "",
                                      reason=result.reason)
        logger.warning("slack call will be retried", **details)
        _metric("Retried")
        return RecordOutcome.retry(f"{channel}: {result.reason}", result.retry_after)
    if verdict == Verdict.AMBIGUOUS:
        error = result.failure.error if result.failure else "unknown"
        detail = (f"delivery_unknown: Slack answered {result.reason}; the message may have been posted, so it is "
                  "not posted again unless the dead-letter copy is redriven")
        unknowns.add(channel, error, detail, expired_lease=False)
        logger.warning("delivery outcome unknown", **details)
        return RecordOutcome.done(f"{channel}: unknown")
    if verdict == Verdict.CHANNEL:
        from sre_slack.storage.tenant_config import record_channel_failing

        error = result.failure.error if result.failure else "channel"
        if job.kind == "post":
            records.settle(tenant, investigation_id, channel, DeliveryStatus.FAILED, f"channel: {error}")
        record_channel_failing(tenant, channel, error)
        logger.warning("channel refuses posts", **details)
        _metric("ChannelFailed")
        return RecordOutcome.done(f"{channel}: channel failed ({error})")
    if verdict == Verdict.PAYLOAD:
        if job.kind == "post":
            records.settle(tenant, investigation_id, channel, DeliveryStatus.FAILED, f"payload: {result.reason}")
        logger.error("slack refused the message payload", **details)
        _metric("PayloadRejected")
        return RecordOutcome.done(f"{channel}: payload rejected")
    if verdict == Verdict.INSTALLATION:
        error = result.failure.error if result.failure else "installation"
        if job.kind == "post":
            records.settle(tenant, investigation_id, channel, DeliveryStatus.UNDELIVERABLE, f"installation: {error}")
        _mark_installation_once(session, error)
        logger.warning("slack refuses the installation", **details)
        _metric("Undeliverable")
        return RecordOutcome.done(f"{channel}: installation refused ({error})")
    # GONE: the message was deleted or can no longer be edited. Reposting would resurrect an alert someone
    # removed on purpose; record it and stop updating that channel.
    records.settle(tenant, investigation_id, channel, DeliveryStatus.GONE, f"update refused: {result.reason}")
    logger.warning("posted message can no longer be updated", **details)
    return RecordOutcome.done(f"{channel}: message gone")


def _mark_installation_once(session: _SlackSession, error: str) -> None:
    from sre_slack.storage.installations import mark_refused_by_slack

    with session._lock:
        if session.installation_failed:
            return
        session.installation_failed = True
    mark_refused_by_slack(session.config.tenant_id, error)


def _clear_recovered_health(config: TenantConfig, channel: str) -> None:
    if channel in config.channel_health:
        from sre_slack.storage.tenant_config import clear_channel_health

        clear_channel_health(config.tenant_id, channel)


def _note_unknown(tenant: str, channel: str, reason: str) -> None:
    from sre_slack.storage.tenant_config import record_delivery_unknown

    record_delivery_unknown(tenant, channel, reason)
    _metric("DeliveryUnknown")


def _lease_until(deadline: Deadline) -> float:
    return time.time() + max(0.0, deadline.remaining()) + LEASE_MARGIN_SECONDS


# ------------------------------------------------------------------------------------------------ metrics

_METRICS_LOCK = threading.Lock()


def _metric(name: str) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    from sre_slack.observability import get_metrics

    with _METRICS_LOCK:
        get_metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)

