"""The one place that creates Slack Web API clients.

Every call goes through SLACK_API_URL (CONTRACT.md), so tests and the local sandbox talk to the stand-in.
Two flavours, because Slack's write methods have no idempotency key:
- `read_client`: idempotent reads (auth.test, conversations.list, ...): retries connection errors and 5xx a
  couple of times inside the call.
- `write_client`: chat.postMessage / chat.update / views.open / oauth.v2.access: no automatic retry. A retried
  post may duplicate a message whose first attempt reached Slack; the ledger and SQS decide instead.
Neither retries 429s in-process: sleeping out a Retry-After inside Lambda is billed and can outlast the
invocation, so callers turn a 429 into an answer (503 + Retry-After, or an SQS retry after that delay).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler

from sre_slack.contracts.settings import get_settings

# Slack answers in well under a second; a hung call must leave time for the rest of the invocation.
TIMEOUT_SECONDS = 5


def read_client(token: str | None = None, *, timeout: int = TIMEOUT_SECONDS) -> WebClient:
    return WebClient(
        token=token,
        base_url=get_settings().slack_api_url,
        timeout=timeout,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(max_retry_count=2)],
    )


def write_client(token: str | None = None, *, timeout: int = TIMEOUT_SECONDS) -> WebClient:
    return WebClient(token=token, base_url=get_settings().slack_api_url, timeout=timeout, retry_handlers=[])
