"""The one module that posts or edits messages (chat.postMessage, chat.update), for every pipeline.

Each call answers a `SlackResult` whose `outcome` the delivery policy (sre_slack.domain.delivery_policy) turns
into the next step; nothing here raises for a Slack failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from sre_slack.blocks.message import SlackMessage
from sre_slack.domain.delivery_policy import Outcome
from sre_slack.slack.errors import SlackFailure, classify, not_attempted


@dataclass(frozen=True)
class SlackResult:
    outcome: Outcome
    ts: str | None = None
    failure: SlackFailure | None = None

    @property
    def retry_after(self) -> int | None:
        return self.failure.retry_after if self.failure else None

    @property
    def error(self) -> str:
        return self.failure.error if self.failure else "ok"

    @property
    def reason(self) -> str:
        return self.failure.describe() if self.failure else "ok"

    def log_fields(self) -> dict[str, Any]:
        failure = self.failure
        return {"outcome": str(self.outcome), "error": failure.error if failure else None,
                "status": failure.status if failure else None}


def post_message(client: WebClient, channel: str, message: SlackMessage, *,
                 thread_ts: str | None = None) -> SlackResult:
    """A message in the channel, or a reply in `thread_ts`'s thread (replies paced like any post: Slack counts
    them against the channel)."""
    threading = {"thread_ts": thread_ts} if thread_ts else {}
    try:
        response = client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **threading,
                                           **message.as_kwargs())
    except Exception as exc:  # every failure is classified; the policy decides
        failure = classify(exc)
        return SlackResult(failure.outcome, failure=failure)
    return SlackResult(Outcome.OK, ts=str(response["ts"]))


def update_message(client: WebClient, channel: str, ts: str, message: SlackMessage) -> SlackResult:
    try:
        client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
    except Exception as exc:  # every failure is classified; the policy decides
        failure = classify(exc)
        return SlackResult(failure.outcome, ts=ts, failure=failure)
    return SlackResult(Outcome.OK, ts=ts)


def skipped(reason: str, retry_after: int | None = None) -> SlackResult:
    """A call we chose not to make (no time left before the deadline, channel paced out)."""
    return SlackResult(Outcome.NOT_ATTEMPTED, failure=not_attempted(reason, retry_after))
