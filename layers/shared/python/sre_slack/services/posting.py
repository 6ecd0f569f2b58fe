"""Posting an investigation: one SQS record of the investigation queue -> its messages in Slack -> its outcome.

`investigation.completed`, first sighting (the common case: 3 DynamoDB requests, 1 Slack call per channel):
1. installation, routing and channel health in one Query (once per tenant per batch);
2. one transaction: SEEN + the alert counters + a claim (or a final status) per routed channel
   (sre_slack.storage.investigations);
3. post to the claimed channels in parallel through the ledger (sre_slack.services.delivery).

Seen before (a redelivery, a retry, a re-investigation) or `alert.resolved`: read the investigation's items (one
Query) and bring every channel to the wanted state: post what is due for a retry (labelled as a re-send when Slack
may already have a copy), chat.update what shows an older rendering, leave alone what is final. docs/posting.md
has the table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from sre_slack.blocks.investigation import build_investigation_message
from sre_slack.blocks.investigation_actions import Acknowledged
from sre_slack.blocks.message import SlackMessage
from sre_slack.contracts.investigation import (
    AlertResolved,
    InvalidMessage,
    InvestigationCompleted,
    parse_investigation_message,
)
from sre_slack.contracts.lambda_events import QueueRecord
from sre_slack.domain.delivery_policy import Call, DeliveryStatus
from sre_slack.domain.routing import resolve_channels
from sre_slack.observability import count, get_logger
from sre_slack.queues.batch import Deadline, RecordOutcome
from sre_slack.services import delivery
from sre_slack.services.delivery import Job, SlackSession
from sre_slack.storage import investigations, ledger, resolutions
from sre_slack.storage.acknowledgements import Acknowledgement
from sre_slack.storage.investigations import NO_CHANNEL, InitialDelivery, StoredInvestigation
from sre_slack.storage.ledger import Delivery
from sre_slack.storage.ratings import Rating, summarize
from sre_slack.storage.table import Contention
from sre_slack.storage.tenant_config import TenantConfig, load_tenant_config

# A record that waits for someone else's live lease comes back after about this long.
IN_FLIGHT_RETRY_SECONDS = 30


class TenantConfigs:
    """Tenant configuration read once per batch and tenant: an alert storm brings many records of one tenant in a
    batch, and they all need the same installation and routing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._configs: dict[str, TenantConfig] = {}

    def get(self, tenant_id: str) -> TenantConfig:
        with self._lock:
            tenant_lock = self._locks.setdefault(tenant_id, threading.Lock())
        with tenant_lock:
            if tenant_id not in self._configs:
                self._configs[tenant_id] = load_tenant_config(tenant_id)
            return self._configs[tenant_id]


def post_record(record: QueueRecord, deadline: Deadline, configs: TenantConfigs | None = None) -> RecordOutcome:
    """One record of the investigation queue, end to end."""
    logger = get_logger()
    try:
        message = parse_investigation_message(record.body)
    except InvalidMessage as exc:
        logger.error("invalid investigation message", message_id=record.message_id, reason=exc.reason,
                     receive_count=record.receive_count)
        count("InvalidMessage")
        return RecordOutcome.dead_letter(exc.reason)
    # Records run in parallel threads: thread-safe keys live in the record's own context.
    logger.thread_safe_append_keys(investigation_id=message.investigation_id, tenant_id=message.tenant_id)
    try:
        run = _Run(record, deadline, configs or TenantConfigs())
        return run.resolve(message) if isinstance(message, AlertResolved) else run.complete(message)
    except Contention as exc:
        return RecordOutcome.retry(f"concurrent delivery: {exc}")
    finally:
        logger.thread_safe_remove_keys(["investigation_id", "tenant_id"])


def plan_deliveries(config: TenantConfig, inv: InvestigationCompleted) -> list[InitialDelivery]:
    """Per routed channel: claim it for posting, or settle it now with the reason it cannot be posted to."""
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


def render(stored: StoredInvestigation, feedback: list[Rating] | None, *, resent: bool = False,
           acknowledgement: Acknowledgement | None = None) -> SlackMessage:
    """The message exactly as posting renders it, with the stored ratings (if any) in its feedback line and the
    stored acknowledgement (if any) in its "Acknowledged by" line."""
    acknowledged = (Acknowledged(acknowledgement.user_id, datetime.fromtimestamp(acknowledgement.acknowledged_at, UTC))
                    if acknowledgement is not None else None)
    return build_investigation_message(stored.investigation, tenant_id=stored.tenant_id,
                                       resolved_at=stored.resolved_at,
                                       feedback=summarize(feedback) if feedback else None, resent=resent,
                                       acknowledged=acknowledged)


class _Run:
    """One record's work."""

    def __init__(self, record: QueueRecord, deadline: Deadline, configs: TenantConfigs) -> None:
        self.record = record
        self.deadline = deadline
        self.configs = configs

    def complete(self, inv: InvestigationCompleted) -> RecordOutcome:
        tenant = inv.tenant_id
        config = self.configs.get(tenant)
        plan = plan_deliveries(config, inv)
        attempt = delivery.lease_for(self.deadline)
        if investigations.record_first_sighting(tenant, inv, plan, attempt=attempt):
            _log_first_sighting(inv, plan)
            sha = investigations.payload_sha(inv)
            stored = StoredInvestigation(tenant, inv, sha, frozenset({sha}))
            jobs = [Job(Call.POST, investigations.delivery_key(tenant, inv.investigation_id, d.channel), d.channel,
                        attempt=attempt) for d in plan if d.status == DeliveryStatus.POSTING]
            return self._run(config, stored, jobs, None)

        state = investigations.load_state(tenant, inv.investigation_id)
        if state.stored is None or not state.deliveries:
            # The first sighting writes SEEN and at least one delivery together; a Query that races that
            # transaction may see part of it. Come back when it is complete.
            return RecordOutcome.retry("first sighting still being recorded elsewhere", IN_FLIGHT_RETRY_SECONDS)
        stored = state.stored
        sha = investigations.payload_sha(inv)
        if sha != stored.payload_sha:
            if sha in stored.versions or _completed_earlier(inv, stored.investigation):
                get_logger().info("an earlier version of a re-investigated investigation; keeping the latest")
            elif investigations.store_reinvestigation(tenant, inv):
                stored = replace(stored, investigation=inv, payload_sha=sha, versions=stored.versions | {sha})
                get_logger().info("re-investigation: updating the posted messages")
                count("Reinvestigated")
            else:
                # A version completed later was stored meanwhile: show that one.
                state = investigations.load_state(tenant, inv.investigation_id)
                stored = state.stored or stored
        return self._reconcile(config, stored, state.deliveries.values(), state.feedback, state.acknowledgement)

    def resolve(self, message: AlertResolved) -> RecordOutcome:
        tenant = message.tenant_id
        if not investigations.store_resolved(tenant, message.investigation_id, message.resolved_at):
            # SQS does not keep order: the completed message may still be on its way. Retrying lets it arrive
            # first; after maxReceiveCount receives the dead-letter queue keeps this resolve with the reason.
            get_logger().warning("resolve for an investigation not seen yet; will retry",
                                 receive_count=self.record.receive_count)
            return RecordOutcome.retry("investigation not seen yet")
        state = investigations.load_state(tenant, message.investigation_id)
        if state.stored is None:
            return RecordOutcome.retry("investigation payload not readable yet")
        resolutions.record_once(tenant, state.stored.investigation, message.resolved_at)  # digest: time to resolve
        return self._reconcile(self.configs.get(tenant), state.stored, state.deliveries.values(), state.feedback,
                               state.acknowledgement)

    def _reconcile(self, config: TenantConfig, stored: StoredInvestigation, deliveries: Iterable[Delivery],
                   feedback: list[Rating], acknowledgement: Acknowledgement | None = None) -> RecordOutcome:
        """Bring every channel of a seen investigation to what `stored` says it should show."""
        wanted = stored.render_version
        jobs: list[Job] = []
        waiting: list[str] = []
        for current in deliveries:
            if current.status == DeliveryStatus.POSTED:
                if current.rendered != wanted and current.ts:
                    jobs.append(Job(Call.UPDATE, current.key, current.channel, ts=current.ts, resend=current.resend))
            elif current.status == DeliveryStatus.POSTING and current.lease_alive():
                waiting.append(current.channel)
            elif current.status in (DeliveryStatus.RETRY, DeliveryStatus.UNKNOWN, DeliveryStatus.POSTING):
                # Due for a (re-)send; a `posting` whose lease expired belongs to an invocation that died mid-post.
                job = self._claim(current)
                if job is None:
                    waiting.append(current.channel)
                else:
                    jobs.append(job)
        return self._run(config, stored, jobs, feedback, waiting, acknowledgement)

    def _claim(self, current: Delivery) -> Job | None:
        attempt = delivery.lease_for(self.deadline)
        claim = ledger.claim(current.key, current.channel, attempt)
        if not claim.claimed:
            return None
        return Job(Call.POST, current.key, current.channel, attempt=attempt, resend=claim.resend)

    def _run(self, config: TenantConfig, stored: StoredInvestigation, jobs: list[Job], feedback: list[Rating] | None,
             waiting: list[str] | None = None, acknowledgement: Acknowledgement | None = None) -> RecordOutcome:
        session = SlackSession(config.tenant_id, config.installation)
        messages = delivery.labelled_when_resent(
            lambda resent: render(stored, feedback, resent=resent, acknowledgement=acknowledgement))
        results = delivery.run_jobs(session, jobs, messages, self.deadline, rendered=stored.render_version,
                                    recovered=lambda channel: channel in config.channel_health,
                                    what="investigation")
        return delivery.record_outcome(results, waiting=waiting or (), in_flight_retry_seconds=IN_FLIGHT_RETRY_SECONDS)


def _completed_earlier(inv: InvestigationCompleted, shown: InvestigationCompleted) -> bool:
    """`inv` completed before the version the messages show (CONTRACT.md: the latest `completed_at` wins)."""
    return inv.completed_at is not None and shown.completed_at is not None and inv.completed_at < shown.completed_at


def _log_first_sighting(inv: InvestigationCompleted, plan: list[InitialDelivery]) -> None:
    logger = get_logger()
    for planned in plan:
        if planned.status == DeliveryStatus.UNDELIVERABLE:
            logger.warning("investigation undeliverable", channel=planned.channel, reason=planned.reason)
            count("Undeliverable")
        elif planned.status == DeliveryStatus.SKIPPED:
            logger.warning("channel skipped", channel=planned.channel, reason=planned.reason)
            count("ChannelSkipped")
    if not inv.test:
        count("AlertCounted")
