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

Storms (docs/posting.md "Alert storms"): before the first sighting each grouped channel joins its group
(sre_slack.storage.groups, one conditional put that decides who is first); a member is posted as a reply in the
first message's thread once that has a ts, and the first's count line is refreshed, debounced, by whichever
invocation takes the refresh. A re-investigation or resolve of a posted message also says so in its thread, as a
note with its own ledger delivery (`NOTE#<channel>#<kind>`), claimed once.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

from sre_slack.blocks.investigation import (
    build_investigation_message,
    build_resolved_note,
    build_revised_note,
    build_thread_reply,
)
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
from sre_slack.domain.delivery_policy import Outcome as SlackOutcome
from sre_slack.domain.grouping import (
    FIRST_MESSAGE_WAIT_SECONDS,
    GroupCounts,
    breaks_out,
    continues,
    first_message_wait,
    group_for,
)
from sre_slack.domain.ratings import FeedbackSummary
from sre_slack.domain.routing import resolve_channels
from sre_slack.observability import count, get_logger
from sre_slack.queues.batch import Deadline, Outcome, RecordOutcome
from sre_slack.services import delivery
from sre_slack.services.delivery import Job, SlackSession
from sre_slack.storage import groups, investigations, keys, ledger, resolutions
from sre_slack.storage.acknowledgements import Acknowledgement
from sre_slack.storage.investigations import NO_CHANNEL, InitialDelivery, StoredInvestigation
from sre_slack.storage.ledger import Delivery
from sre_slack.storage.ratings import Rating, summarize
from sre_slack.storage.table import Contention, Key
from sre_slack.storage.tenant_config import TenantConfig, load_tenant_config

# A record that waits for someone else's live lease comes back after about this long.
IN_FLIGHT_RETRY_SECONDS = 30
FIRST = "first"
MEMBER = "member"
# Notes in an investigation's thread (their delivery's sort key ends in the kind).
NOTE_REVISED = "REVISED"
NOTE_RESOLVED = "RESOLVED"
# Ledger states from which a storm's first message will never be in the channel.
_NEVER_POSTED = (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERABLE, DeliveryStatus.SKIPPED, DeliveryStatus.GONE)


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
           acknowledgement: Acknowledgement | None = None, reply: bool = False,
           group: GroupCounts | None = None) -> SlackMessage:
    """The message exactly as posting renders it, with the stored ratings (if any) in its feedback line and the
    stored acknowledgement (if any) in its "Acknowledged by" line: a storm member's compact `reply`, or the whole
    message (a storm's first with its `group` count line)."""
    acknowledged = (Acknowledged(acknowledgement.user_id, datetime.fromtimestamp(acknowledgement.acknowledged_at, UTC))
                    if acknowledgement is not None else None)
    summary = _feedback_summary(stored, feedback)
    if reply:
        return build_thread_reply(stored.investigation, tenant_id=stored.tenant_id, resolved_at=stored.resolved_at,
                                  feedback=summary, resent=resent, acknowledged=acknowledged,
                                  revised_at=stored.revised_at)
    return build_investigation_message(stored.investigation, tenant_id=stored.tenant_id,
                                       resolved_at=stored.resolved_at, feedback=summary, resent=resent,
                                       acknowledged=acknowledged, revised_at=stored.revised_at, group=group)


def _feedback_summary(stored: StoredInvestigation, feedback: list[Rating] | None) -> FeedbackSummary | None:
    if not feedback:
        return None
    return summarize(feedback, revised_at=stored.revised_at.timestamp() if stored.revised_at else None)


def assign_groups(config: TenantConfig, inv: InvestigationCompleted, plan: list[InitialDelivery], *,
                  optimistic: bool = False) -> tuple[list[InitialDelivery], list[groups.NewGroup]]:
    """Each grouped channel's part in its storm group: first (posted as usual) or member (a reply in the first's
    thread). A member more severe than the group's first breaks out: it joins (or starts) the group of its own
    severity instead, so it is posted top-level and the alerts of that severity thread under it. Test
    investigations are never grouped. A storm that began in the window before, whose first fired at most the window
    before this alert, goes on in that group (domain.grouping.continues). `optimistic`: assume every group is new
    and no storm goes on, read nothing, and answer the groups to start with the first sighting, whose transaction
    checks both (storage.investigations.record_first_sighting)."""
    new_groups: list[groups.NewGroup] = []
    if inv.test:
        return plan, new_groups
    decision = resolve_channels(config.routing, cluster=inv.cluster, workspace=inv.workspace,
                                severity=inv.alert.severity)
    assigned: list[InitialDelivery] = []
    for planned in plan:
        window = decision.grouping_window(planned.channel) if planned.status == DeliveryStatus.POSTING else None
        if window is None:
            assigned.append(planned)
            continue
        group_id = group_for(inv, planned.channel, window)
        key = groups.key_for(inv.tenant_id, group_id)
        previous = groups.key_for(inv.tenant_id, group_id.previous(window))
        if optimistic:
            new_groups.append(groups.starting(key, previous, inv, window))
            assigned.append(replace(planned, extra={"role": FIRST, "group_pk": key["pk"], "group_sk": key["sk"]}))
            continue
        earlier = groups.get(previous)
        if earlier is not None and earlier.first_fired_at is not None and continues(
                earlier.first_fired_at, inv.alert.fired_at, window):
            group_id = group_id.previous(window)  # a storm that began in the window before goes on in its thread
            key = previous
        group = groups.join(key, inv)
        if group.first_id != inv.investigation_id and breaks_out(group.first_severity, inv.alert.severity):
            key = groups.key_for(inv.tenant_id, group_id.escalate(inv.alert.severity))
            group = groups.join(key, inv)
        extra = {"role": FIRST, "group_pk": key["pk"], "group_sk": key["sk"]}
        if group.first_id != inv.investigation_id:
            extra |= {"role": MEMBER, "parent": group.first_id}
        assigned.append(replace(planned, extra=extra))
    return assigned, new_groups


class _Run:
    """One record's work."""

    def __init__(self, record: QueueRecord, deadline: Deadline, configs: TenantConfigs) -> None:
        self.record = record
        self.deadline = deadline
        self.configs = configs
        # Storm groups this record is a member of (their first's count line), and the ones it is first of.
        self.groups_touched: dict[tuple[str, str], tuple[Key, str, str]] = {}
        self.first_of: dict[str, Key] = {}

    def complete(self, inv: InvestigationCompleted) -> RecordOutcome:
        tenant = inv.tenant_id
        config = self.configs.get(tenant)
        planned_channels = plan_deliveries(config, inv)
        attempt = delivery.lease_for(self.deadline)
        # Optimistically the first of every group it could start (no read: the common single alert costs nothing
        # more); a group that exists already fails the transaction, and then the channels join their groups.
        plan, new_groups = assign_groups(config, inv, planned_channels, optimistic=True)
        try:
            first_sighting = investigations.record_first_sighting(tenant, inv, plan, attempt=attempt,
                                                                  new_groups=new_groups)
        except investigations.GroupTaken:
            plan, _ = assign_groups(config, inv, planned_channels)
            first_sighting = investigations.record_first_sighting(tenant, inv, plan, attempt=attempt)
        if first_sighting:
            _log_first_sighting(inv, plan)
            sha = investigations.payload_sha(inv)
            stored = StoredInvestigation(tenant, inv, sha, frozenset({sha}))
            jobs: list[Job] = []
            waiting_first: list[str] = []
            for planned in plan:
                if planned.status != DeliveryStatus.POSTING:
                    continue
                key = investigations.delivery_key(tenant, inv.investigation_id, planned.channel)
                row = ledger.Delivery.from_values({**key, **planned.extra}, planned.channel)
                if row.role == MEMBER and row.group is not None:
                    groups.add_member(row.group, inv)
                job = self._threaded(Job(Call.POST, key, planned.channel, attempt=attempt), row)
                if job is None:
                    waiting_first.append(planned.channel)
                else:
                    jobs.append(job)
                if row.role == MEMBER:
                    # (A first just started its group: members that raced it refresh its count line.)
                    self._note_group(row)
            return self._run(config, stored, jobs, None, waiting_first=waiting_first)

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
                stored = replace(stored, investigation=inv, payload_sha=sha, versions=stored.versions | {sha},
                                 revised_at=datetime.fromtimestamp(int(time.time()), UTC))
                get_logger().info("re-investigation: updating the posted messages")
                count("Reinvestigated")
            else:
                # A version completed later was stored meanwhile: show that one.
                state = investigations.load_state(tenant, inv.investigation_id)
                stored = state.stored or stored
        return self._reconcile(config, stored, state)

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
        for current in state.deliveries.values():
            if current.group is not None:
                # The group's first message counts the resolved ones (idempotent: a set of ids).
                groups.add_resolved(current.group, message.investigation_id)
        return self._reconcile(self.configs.get(tenant), state.stored, state)

    def _reconcile(self, config: TenantConfig, stored: StoredInvestigation,
                   state: investigations.InvestigationState) -> RecordOutcome:
        """Bring every channel of a seen investigation to what `stored` says it should show, with a note in its
        thread for a revision or a resolve the message did not show yet."""
        wanted = stored.render_version
        jobs: list[Job] = []
        waiting: list[str] = []
        waiting_first: list[str] = []
        for current in state.deliveries.values():
            self._note_group(current)
            if current.status == DeliveryStatus.POSTED:
                if current.rendered != wanted and current.ts:
                    jobs += self._notes_due(stored, current)
                    jobs.append(Job(Call.UPDATE, current.key, current.channel, ts=current.ts, resend=current.resend,
                                    thread_ts=current.thread_ts))
            elif current.status == DeliveryStatus.POSTING and current.lease_alive():
                waiting.append(current.channel)
            elif current.status in (DeliveryStatus.RETRY, DeliveryStatus.UNKNOWN, DeliveryStatus.POSTING):
                # Due for a (re-)send; a `posting` whose lease expired belongs to an invocation that died mid-post.
                job = self._claim(current)
                if job is None:
                    waiting.append(current.channel)
                elif (threaded := self._threaded(job, current)) is None:
                    waiting_first.append(current.channel)
                else:
                    jobs.append(threaded)
        for note in state.notes.values():
            if note.status in (DeliveryStatus.RETRY, DeliveryStatus.UNKNOWN) or (
                    note.status == DeliveryStatus.POSTING and not note.lease_alive()):
                claimed = self._claim(note)
                if claimed is not None:
                    jobs.append(replace(claimed, thread_ts=note.thread_ts))
        return self._run(config, stored, jobs, state.feedback, waiting, state.acknowledgement,
                         waiting_first=waiting_first)

    def _claim(self, current: Delivery) -> Job | None:
        attempt = delivery.lease_for(self.deadline)
        claim = ledger.claim(current.key, current.channel, attempt)
        if not claim.claimed:
            return None
        return Job(Call.POST, current.key, current.channel, attempt=attempt, resend=claim.resend)

    def _threaded(self, job: Job, row: Delivery) -> Job | None:
        """A storm member's post as a reply in its first's thread; None when the first has no ts yet (the claim
        is released and the record comes back: a second thread is never started). A first that will never be
        in the channel leaves the member to stand alone."""
        if row.role != MEMBER or not row.parent or job.attempt is None:
            return job
        tenant = self.tenant_of(row)
        first = ledger.get(investigations.delivery_key(tenant, row.parent, row.channel), row.channel)
        if first is not None and first.status == DeliveryStatus.POSTED and first.ts:
            return replace(job, thread_ts=first.ts)
        if first is not None and first.status in _NEVER_POSTED:
            return job
        ledger.release(job.key, job.attempt, reason="waiting for the storm's first message")
        return None

    @staticmethod
    def tenant_of(row: Delivery) -> str:
        return keys.tenant_from_pk(row.key["pk"])

    def _note_group(self, row: Delivery) -> None:
        """Remember the storm groups this record touches: their count lines may be due for a refresh."""
        if row.group is None:
            return
        first_id = row.parent if row.role == MEMBER else None
        if first_id:
            self.groups_touched[(row.group["pk"], row.group["sk"])] = (row.group, row.channel, first_id)
        else:
            self.first_of[row.channel] = row.group

    def _notes_due(self, stored: StoredInvestigation, current: Delivery) -> list[Job]:
        """The thread notes a posted message is due now that it shows a revision or a resolve, each claimed once
        (its own ledger delivery, keyed by the version it announces)."""
        shown_sha, _, shown_resolved = (current.rendered or "").partition("|")
        due: list[str] = []
        if current.rendered and shown_sha != stored.payload_sha:
            due.append(f"{NOTE_REVISED}#{stored.payload_sha}")
        if current.rendered and stored.resolved_at is not None and not shown_resolved:
            due.append(NOTE_RESOLVED)
        root = current.thread_ts or current.ts
        jobs: list[Job] = []
        for kind in due:
            key = keys.note_key(stored.tenant_id, stored.investigation.investigation_id, current.channel, kind)
            attempt = delivery.lease_for(self.deadline)
            if ledger.claim(key, current.channel, attempt, when_absent=True, extra={"thread_ts": root}).claimed:
                jobs.append(Job(Call.POST, key, current.channel, attempt=attempt, thread_ts=root))
        return jobs

    def _run(self, config: TenantConfig, stored: StoredInvestigation, jobs: list[Job], feedback: list[Rating] | None,
             waiting: list[str] | None = None, acknowledgement: Acknowledgement | None = None, *,
             waiting_first: list[str] | None = None) -> RecordOutcome:
        session = SlackSession(config.tenant_id, config.installation)
        counts = {channel: (group.counts if (group := groups.get(key)) else None)
                  for channel, key in self.first_of.items()}
        built: dict[tuple[bool, bool, GroupCounts | None], SlackMessage] = {}

        def message(job: Job) -> SlackMessage:
            sk = job.key["sk"]
            if sk.startswith(keys.NOTE_PREFIX):
                if sk.endswith(NOTE_RESOLVED) and stored.resolved_at is not None:
                    return build_resolved_note(stored.investigation, stored.resolved_at)
                return build_revised_note(stored.investigation)
            reply = job.thread_ts is not None
            group = None if reply else counts.get(job.channel)
            variant = (job.resend, reply, group)
            if variant not in built:
                built[variant] = render(stored, feedback, resent=job.resend, acknowledgement=acknowledgement,
                                        reply=reply, group=group)
            return built[variant]

        notes = [job for job in jobs if job.key["sk"].startswith(keys.NOTE_PREFIX)]
        results = delivery.run_jobs(session, [job for job in jobs if job not in notes], message, self.deadline,
                                    rendered=stored.render_version,
                                    recovered=lambda channel: channel in config.channel_health,
                                    what="investigation")
        # A note follows its message's update: none in the thread of a message that is gone or not updated yet.
        updates = {r.job.channel: r for r in results if r.job.call == Call.UPDATE}
        postable: list[Job] = []
        for note in notes:
            update = updates.get(note.channel)
            if update is None or update.result.outcome == SlackOutcome.OK:
                postable.append(note)
            elif update.decision.retry and note.attempt is not None:
                ledger.release(note.key, note.attempt, reason=f"its message's update: {update.result.reason}")
            else:
                ledger.settle(note.key, DeliveryStatus.FAILED, f"its message was not updated: {update.result.reason}")
        results += delivery.run_jobs(session, postable, message, self.deadline, rendered=stored.render_version,
                                     what="thread note")
        outcome = delivery.record_outcome(results, waiting=waiting or (),
                                          in_flight_retry_seconds=IN_FLIGHT_RETRY_SECONDS)
        later = self._refresh_counts(session) if self.groups_touched else None
        if outcome.outcome == Outcome.DONE and waiting_first:
            return RecordOutcome.retry(f"waiting for the storm's first message: {', '.join(waiting_first)}",
                                       first_message_wait(self.record.receive_count))
        if outcome.outcome == Outcome.DONE and later is not None:
            # The count line changed but someone refreshed it moments ago: come back and make sure it lands.
            return RecordOutcome.retry("storm count line refresh due", max(1, math.ceil(later)))
        return outcome

    def _refresh_counts(self, session: SlackSession) -> float | None:
        """Refresh the count line of each storm first message this record touched, if it is this invocation's
        turn (storage.groups.take_refresh); seconds until another look is due, or None."""
        later: float | None = None
        for key, channel, first_id in self.groups_touched.values():
            refresh = groups.take_refresh(key)
            if refresh.later is not None:
                later = max(later or 0.0, refresh.later)
                continue
            if refresh.group is None:
                continue
            state = investigations.load_state(session.tenant_id, first_id)
            first = state.deliveries.get(channel)
            if first is not None and first.status in _NEVER_POSTED:
                continue
            if state.stored is None or first is None or first.status != DeliveryStatus.POSTED or not first.ts:
                groups.mark_dirty(key)
                later = max(later or 0.0, float(FIRST_MESSAGE_WAIT_SECONDS))
                continue
            updated = render(state.stored, state.feedback, resent=first.resend,
                             acknowledgement=state.acknowledgement, group=refresh.group.counts)
            job = Job(Call.UPDATE, first.key, channel, ts=first.ts, resend=first.resend)
            # rendered=None: the first's own record decides which version its message shows (and its notes).
            results = delivery.run_jobs(session, [job], lambda _job, shown=updated: shown, self.deadline, rendered=None,
                                        what="storm count line")
            if any(result.decision.retry for result in results):
                groups.mark_dirty(key)
                later = max(later or 0.0, float(max((r.retry_after or 1) for r in results)))
        return later


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
