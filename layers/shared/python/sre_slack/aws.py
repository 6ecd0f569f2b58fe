"""boto3 clients, created on first use and reused for the life of the container.

Created lazily so a function that never touches SQS does not pay for an SQS client at cold start;
`reset_clients()` lets tests start each case inside a fresh moto mock.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Lambda keeps connections warm between invocations; retries stay short so a slow AWS call cannot eat
# the time budget that Slack calls need.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


def dynamodb() -> Any:
    return client("dynamodb")


def sqs() -> Any:
    return client("sqs")


def reset_clients() -> None:
    from sre_slack.slack import credentials as secrets
    from sre_slack.slack import token_cipher as crypto

    client.cache_clear()
    crypto.clear_cache()
    secrets.clear_cache()
