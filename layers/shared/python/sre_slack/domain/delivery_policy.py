"""The delivery policy: what every outcome of a Slack post or update leads to, in one table for every pipeline.

Investigations and digests are posted through the same ledger (sre_slack.storage.ledger) and decide what to do
after each Slack call from `POLICY` below, so a new Slack error class or a change of policy is made once. The
error codes per class are Slack's (shared/README.md, "Rate limits and errors").

Posting has no idempotency key, so the outcome that matters most is whether Slack may have posted a message
whose call failed (`Outcome.AMBIGUOUS`): an `internal_error`, a 5xx other than 503, a read timeout or a
connection that broke after the request was sent. Nothing waits for a person: such a post is retried
automatically after a backoff (30 s, 60 s, 120 s, ... through SQS visibility), and the message that is then
posted says that it was re-sent and that an earlier copy may exist (CONTRACT.md), so a reader can tell a possible
duplicate from a new alert. A failure that proves Slack did not take the request (429, 503, a connection that
failed before the request was sent) is retried without a label. An update (chat.update) is idempotent, so every
transient failure of one is simply retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class FailureClass(StrEnum):
    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    CHANNEL = "channel"
    PAYLOAD = "payload"
    INSTALLATION = "installation"
    # chat.update on a message Slack no longer lets us edit.
    MESSAGE_GONE = "message_gone"


CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"})
PAYLOAD_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text",
                            "msg_blocks_too_long", "invalid_arguments", "invalid_attachments", "too_many_attachments"})
INSTALLATION_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed", "missing_scope",
                                 "token_expired", "no_permission", "team_access_not_granted", "ekm_access_denied",
                                 "org_login_required", "app_uninstalled"})
# The token itself is gone: drop it rather than keep a dead secret around.
TOKEN_GONE_ERRORS = frozenset({"token_revoked", "account_inactive", "app_uninstalled"})
MESSAGE_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# Transient errors after which Slack certainly did not create the message (it refused the request).
NOT_POSTED_ERRORS = frozenset({"service_unavailable", "http_503"})


def failure_class(error: str, status: int | None) -> FailureClass:
    """The class of a Slack error code (or `http_<status>`). Unknown errors are transient: SQS retries them a
    bounded number of times, then the dead-letter queue keeps the message with its reason."""
    if status == 429 or error in RATE_LIMIT_ERRORS:
        return FailureClass.RATE_LIMITED
    for errors, kind in ((CHANNEL_ERRORS, FailureClass.CHANNEL), (PAYLOAD_ERRORS, FailureClass.PAYLOAD),
                         (INSTALLATION_ERRORS, FailureClass.INSTALLATION),
                         (MESSAGE_GONE_ERRORS, FailureClass.MESSAGE_GONE)):
        if error in errors:
            return kind
    return FailureClass.TRANSIENT


class DeliveryStatus(StrEnum):
    """Where one channel's message stands in the ledger."""

    POSTING = "posting"  # claimed by an attempt (a lease): the post is under way
    POSTED = "posted"
    RETRY = "retry"  # not posted yet, or maybe posted (then `resend`): a later attempt claims it
    # Maybe posted, parked for an operator: only written before the re-send policy; claimed like `retry`.
    UNKNOWN = "unknown"
    FAILED = "failed"  # the channel or the payload refuses it for good
    UNDELIVERABLE = "undeliverable"  # the installation cannot post at all (revoked, uninstalled)
    SKIPPED = "skipped"  # nothing to post to, or a channel known to fail
    GONE = "gone"  # posted, then deleted or no longer editable: updates stop


FINAL_STATUSES = frozenset({DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERABLE, DeliveryStatus.SKIPPED,
                            DeliveryStatus.GONE})


class Call(StrEnum):
    POST = "post"
    UPDATE = "update"


class Outcome(StrEnum):
    """What one Slack call came to."""

    OK = "ok"
    NOT_ATTEMPTED = "not_attempted"  # we did not call: no time left before the deadline, or the channel is paced
    RATE_LIMITED = "rate_limited"  # 429: Slack says when to come back
    NOT_SENT = "not_sent"  # transient, and certainly not posted (503, refused before anything was sent)
    AMBIGUOUS = "ambiguous"  # transient, and Slack may have posted anyway
    CHANNEL = "channel"
    PAYLOAD = "payload"
    INSTALLATION = "installation"
    MESSAGE_GONE = "message_gone"


@dataclass(frozen=True)
class Decision:
    """What follows an outcome: the delivery's new status (None: unchanged), whether the SQS record must come
    back later, and the installation-wide bookkeeping it implies."""

    status: DeliveryStatus | None
    retry: bool = False
    resend: bool = False  # maybe posted: the next post is labelled as a possible duplicate, after a backoff
    channel_failing: bool = False  # record the channel as failing in the tenant's delivery health
    installation_refused: bool = False  # mark the installation revoked / inactive


_RETRY = Decision(DeliveryStatus.RETRY, retry=True)
_RETRY_UPDATE = Decision(None, retry=True)

POLICY: Mapping[tuple[Call, Outcome], Decision] = {
    (Call.POST, Outcome.OK): Decision(DeliveryStatus.POSTED),
    (Call.POST, Outcome.NOT_ATTEMPTED): _RETRY,
    (Call.POST, Outcome.RATE_LIMITED): _RETRY,
    (Call.POST, Outcome.NOT_SENT): _RETRY,
    (Call.POST, Outcome.AMBIGUOUS): Decision(DeliveryStatus.RETRY, retry=True, resend=True),
    (Call.POST, Outcome.CHANNEL): Decision(DeliveryStatus.FAILED, channel_failing=True),
    (Call.POST, Outcome.PAYLOAD): Decision(DeliveryStatus.FAILED),
    (Call.POST, Outcome.INSTALLATION): Decision(DeliveryStatus.UNDELIVERABLE, installation_refused=True),
    (Call.POST, Outcome.MESSAGE_GONE): Decision(DeliveryStatus.FAILED),
    (Call.UPDATE, Outcome.OK): Decision(DeliveryStatus.POSTED),
    (Call.UPDATE, Outcome.NOT_ATTEMPTED): _RETRY_UPDATE,
    (Call.UPDATE, Outcome.RATE_LIMITED): _RETRY_UPDATE,
    (Call.UPDATE, Outcome.NOT_SENT): _RETRY_UPDATE,
    (Call.UPDATE, Outcome.AMBIGUOUS): _RETRY_UPDATE,
    (Call.UPDATE, Outcome.CHANNEL): Decision(None, channel_failing=True),
    (Call.UPDATE, Outcome.PAYLOAD): Decision(None),
    (Call.UPDATE, Outcome.INSTALLATION): Decision(None, installation_refused=True),
    # Deleted or no longer editable: reposting would resurrect an alert someone removed on purpose.
    (Call.UPDATE, Outcome.MESSAGE_GONE): Decision(DeliveryStatus.GONE),
}

_OUTCOME_BY_CLASS = {
    FailureClass.RATE_LIMITED: Outcome.RATE_LIMITED,
    FailureClass.CHANNEL: Outcome.CHANNEL,
    FailureClass.PAYLOAD: Outcome.PAYLOAD,
    FailureClass.INSTALLATION: Outcome.INSTALLATION,
    FailureClass.MESSAGE_GONE: Outcome.MESSAGE_GONE,
}


def outcome_of(failure: FailureClass, error: str, status: int | None, *, request_sent: bool) -> Outcome:
    """The outcome of a failed call: a transient failure is ambiguous unless it proves Slack refused the request
    (503 / service_unavailable) or the request never left (`request_sent` False: refused, unresolvable)."""
    if failure in _OUTCOME_BY_CLASS:
        return _OUTCOME_BY_CLASS[failure]
    if not request_sent or error in NOT_POSTED_ERRORS or status == 503:
        return Outcome.NOT_SENT
    return Outcome.AMBIGUOUS


def decide(call: Call, outcome: Outcome) -> Decision:
    return POLICY[(call, outcome)]


# The backoff of a re-send after an ambiguous answer: 30 s, then 60 s, 120 s, ... at most 15 minutes.
RESEND_FIRST_BACKOFF_SECONDS = 30
RESEND_MAX_BACKOFF_SECONDS = 900


def resend_backoff(resends: int) -> int:
    """Seconds before the `resends`-th re-send of a post whose outcome Slack left unknown."""
    return min(RESEND_MAX_BACKOFF_SECONDS, RESEND_FIRST_BACKOFF_SECONDS * 2 ** max(0, resends - 1))
