"""Posting through the ledger, for every pipeline: run the Slack calls of claimed deliveries and record what each
came to, as the delivery policy says (sre_slack.domain.delivery_policy).

Investigations and digests differ in what they post and which deliveries they claim; from the claim on, this
module is the one path: pace the channel, call Slack (sre_slack.slack.poster), write the outcome to the ledger,
record a failing channel or a refused installation, count it, and tell the queue runner whether the record must
come back, and when. A post that may have reached Slack (ambiguous) comes back after a growing backoff and is then
posted with the re-sent line (`Job.resend`), so a possible duplicate is always labelled.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from slack_sdk import WebClient

from sre_slack.blocks.message import SlackMessage
from sre_slack.domain.delivery_policy import (
    Call,
    Decision,
    DeliveryStatus,
    FailureClass,
    Outcome,
    decide,
    resend_backoff,
)
from sre_slack.observability import count, get_logger
from sre_slack.queues.batch import Deadline, RecordOutcome
from sre_slack.slack.client import write_client
from sre_slack.slack.errors import SlackFailure
from sre_slack.slack.pacing import channel_pacer, post_pool
from sre_slack.slack.poster import SlackResult, post_message, skipped, update_message
from sre_slack.slack.tokens import TokenUnavailable, bot_token
from sre_slack.storage import ledger
from sre_slack.storage.installations import Installation, mark_refused_by_slack
from sre_slack.storage.ledger import Attempt
from sre_slack.storage.table import Key
from sre_slack.storage.tenant_config import clear_channel_health, record_channel_failing

# A Slack call may take this long (sre_slack.slack.client.TIMEOUT_SECONDS) plus a second to record its result.
SLACK_CALL_BUDGET_SECONDS = 6.0
# How long after an invocation's deadline its `posting` lease still counts as alive (clock skew, slow writes).
LEASE_MARGIN_SECONDS = 10.0

_METRIC = {
    (Call.POST, Outcome.OK): "Posted",
    (Call.UPDATE, Outcome.OK): "Updated",
    (Call.POST, Outcome.AMBIGUOUS): "DeliveryAmbiguous",
    (Call.POST, Outcome.CHANNEL): "ChannelFailed",
    (Call.POST, Outcome.PAYLOAD): "PayloadRejected",
    (Call.POST, Outcome.INSTALLATION): "Undeliverable",
}


def lease_for(deadline: Deadline) -> Attempt:
    """A new attempt whose lease outlives the invocation by a margin."""
    return Attempt.new(deadline.epoch() + LEASE_MARGIN_SECONDS)


@dataclass(frozen=True)
class Job:
    """One Slack call for one channel: post a claimed delivery, or update a posted message."""

    call: Call
    key: Key
    channel: str
    attempt: Attempt | None = None  # a post's claim
    ts: str | None = None  # an update's message
    # Slack may hold an earlier copy: the message says it was re-sent (CONTRACT.md).
    resend: bool = False
    # A post that is a reply in this message's thread (storm members, revised / resolved notes).
    thread_ts: str | None = None


@dataclass(frozen=True)
class JobResult:
    job: Job
    result: SlackResult
    decision: Decision
    # When the record should come back for this job (Slack's Retry-After, or the re-send backoff).
    retry_after: int | None = None


class SlackSession:
    """The tenant's Slack client, created on first need (a KMS decrypt), shared by a record's threads; remembers
    that Slack refused the installation so that it is marked once."""

    def __init__(self, tenant_id: str, installation: Installation | None) -> None:
        self.tenant_id = tenant_id
        self.installation = installation
        self._lock = threading.Lock()
        self._client: WebClient | None = None
        self.unavailable: tuple[str, bool] | None = None  # (reason, permanent)
        self._refused = False

    def client(self) -> WebClient | None:
        with self._lock:
            if self._client is None and self.unavailable is None:
                if self.installation is None:
                    self.unavailable = ("not_installed", True)
                else:
                    try:
                        self._client = write_client(bot_token(self.installation))
                    except TokenUnavailable as exc:
                        self.unavailable = (exc.reason, exc.permanent)
            return self._client

    @property
    def refused(self) -> bool:
        return self._refused

    def refuse_installation(self, error: str) -> None:
        with self._lock:
            if self._refused:
                return
            self._refused = True
            self.unavailable = (f"Slack refused the token: {error}", True)
        mark_refused_by_slack(self.tenant_id, error)


MessageFor = Callable[[Job], SlackMessage]


def labelled_when_resent(build: Callable[[bool], SlackMessage]) -> MessageFor:
    """Each job's message: `build(resent)` with the re-sent line for a job that may post a second copy
    (CONTRACT.md), built once per variant."""
    built: dict[bool, SlackMessage] = {}

    def message(job: Job) -> SlackMessage:
        if job.resend not in built:
            built[job.resend] = build(job.resend)
        return built[job.resend]

    return message


def run_jobs(session: SlackSession, jobs: Sequence[Job], message: MessageFor, deadline: Deadline, *,
             rendered: str | None = None, recovered: Callable[[str], bool] = lambda _c: False,
             what: str = "message", parallel: bool = True) -> list[JobResult]:
    """Make every job's Slack call (each channel paced) and record its outcome. `rendered` is the version a
    posted or updated message now shows; `recovered(channel)` says whether the channel's delivery health holds a
    failure that a successful post clears. In parallel (an alert's channels, which must all arrive now), or one
    after another in order (a digest's channels), where a token Slack refused is not tried on the next one."""
    if not jobs:
        return []
    for job in jobs:
        if job.call == Call.POST and job.resend:
            get_logger().warning(f"re-sending a {what} whose post had an unknown outcome, labelled",
                                 channel=job.channel)
            count("Resent")
    client = session.client()
    if client is None:
        return [_apply(session, job, _no_token(session), rendered, recovered, what) for job in jobs]
    if not parallel:
        results: list[JobResult] = []
        for job in jobs:
            result = _no_token(session) if session.refused else _call(client, job, message(job), deadline)
            results.append(_apply(session, job, result, rendered, recovered, what))
        return results
    futures: list[tuple[Job, Future[SlackResult]]] = [
        (job, post_pool().submit(contextvars.copy_context().run, _call, client, job, message(job), deadline))
        for job in jobs
    ]
    return [_apply(session, job, future.result(), rendered, recovered, what) for job, future in futures]


def _no_token(session: SlackSession) -> SlackResult:
    """No call could be made: the installation cannot post (for good), or its token could not be refreshed now."""
    reason, permanent = session.unavailable or ("no token", False)
    if permanent:
        return SlackResult(Outcome.INSTALLATION,
                           failure=SlackFailure(FailureClass.INSTALLATION, reason, request_sent=False))
    return skipped(f"bot token unavailable: {reason}")


def _call(client: WebClient, job: Job, message: SlackMessage, deadline: Deadline) -> SlackResult:
    if job.call == Call.UPDATE:
        if not deadline.allows(SLACK_CALL_BUDGET_SECONDS):
            return skipped("deadline")
        return update_message(client, job.channel, job.ts or "", message)
    wait = channel_pacer().reserve(job.channel, not_after=deadline.at - SLACK_CALL_BUDGET_SECONDS)
    if wait is None:
        return skipped("paced: no time left in this invocation for this channel", retry_after=1)
    if wait > 0:
        time.sleep(wait)
    return post_message(client, job.channel, message, thread_ts=job.thread_ts)


def _apply(session: SlackSession, job: Job, result: SlackResult, rendered: str | None,
           recovered: Callable[[str], bool], what: str) -> JobResult:
    """Write what Slack said to the ledger, and do the bookkeeping the policy asks for."""
    logger = get_logger()
    decision = decide(job.call, result.outcome)
    details = {"channel": job.channel, "call": str(job.call), "resend": job.resend, **result.log_fields()}
    retry_after = result.retry_after
    if result.outcome == Outcome.OK:
        if job.call == Call.POST:
            ledger.mark_posted(job.key, ts=result.ts or "", rendered=rendered, thread_ts=job.thread_ts)
            if recovered(job.channel):
                clear_channel_health(session.tenant_id, job.channel)
            logger.info(f"{what} posted", ts=result.ts, **details)
        else:
            if rendered is not None:
                ledger.mark_rendered(job.key, rendered=rendered)
            logger.info(f"{what} updated", ts=result.ts, **details)
    elif decision.retry:
        if job.call == Call.POST and job.attempt is not None:
            resends = ledger.release(job.key, job.attempt, reason=result.reason, resend=decision.resend)
            if decision.resend:
                # Slack may have posted it: try again later, labelled, and later again each time this happens.
                retry_after = resend_backoff(resends or 1)
        logger.warning("delivery outcome unknown: re-sent later, labelled" if decision.resend
                       else "slack call will be retried", retry_after=retry_after, **details)
        count("Retried")
    else:
        if decision.status is not None and (job.call == Call.POST or decision.status == DeliveryStatus.GONE):
            ledger.settle(job.key, decision.status, result.reason)
        elif job.call == Call.UPDATE:
            ledger.note_update_refused(job.key, result.reason)
        logger.warning(f"{what} not delivered", **details)
    if decision.channel_failing:
        record_channel_failing(session.tenant_id, job.channel, result.error)
    if decision.installation_refused and result.failure is not None and result.failure.request_sent:
        # Slack itself refused the token (not merely our record saying the installation is gone).
        session.refuse_installation(result.error)
    metric = _METRIC.get((job.call, result.outcome))
    if metric:
        count(metric)
    return JobResult(job, result, decision, retry_after)


def record_outcome(results: Sequence[JobResult], *, waiting: Sequence[str] = (),
                   in_flight_retry_seconds: int = 30) -> RecordOutcome:
    """What the SQS record comes to: retried when any call must be (after the longest Retry-After Slack gave), or
    when another invocation is posting some channel right now (`waiting`); done otherwise."""
    retries = [r for r in results if r.decision.retry]
    if retries:
        delays = [r.retry_after for r in retries if r.retry_after]
        return RecordOutcome.retry("; ".join(f"{r.job.channel}: {r.result.reason}" for r in retries),
                                   max(delays) if delays else None)
    if waiting:
        # Another invocation is posting to these channels right now: come back when it is surely over.
        return RecordOutcome.retry(f"delivery in progress elsewhere: {', '.join(waiting)}", in_flight_retry_seconds)
    return RecordOutcome.done("; ".join(f"{r.job.channel}: {r.result.outcome}" for r in results) or "nothing to do")
