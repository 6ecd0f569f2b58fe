"""boto3 clients: created on first use, reused for the life of the container, all with the same short timeouts.

Lambda keeps connections warm between invocations; retries and timeouts stay short so that a slow AWS call cannot
eat the time budget the Slack calls need. `BOTO_CONFIG` is also handed to the Powertools utilities that create
their own clients (Parameters, Idempotency), so every AWS call of the integration fails fast the same way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5)


@cache
def client(service: str) -> Any:
    """The container's client for `service` ("dynamodb", "sqs", "kms", "events")."""
    return boto3.client(service, config=BOTO_CONFIG)
