"""Everything in one process for scripts (benchmarks, the digest CLI): moto in-process with the template's
resources, the Slack stand-in on loopback, and the environment of the functions a script runs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber

from localdev.aws import Deployment, deploy
from localdev.slack_standin import SlackStandIn
from localdev.template import Template


@dataclass(frozen=True)
class InProcess:
    template: Template
    deployment: Deployment
    slack: SlackStandIn


def one_request_at_a_time(call: Callable[..., Any]) -> Callable[..., Any]:
    """moto in process is not thread-safe (a transaction deep-copies a table while another thread writes to it, a
    Query iterates a dict another thread grows); DynamoDB is, per request. Handlers call AWS from several threads,
    so the emulator takes one request at a time: wrap BotocoreStubber.__call__ with this."""
    lock = threading.RLock()

    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return call(self, *args, **kwargs)

    return serialized


@contextmanager
def serialized_moto() -> Iterator[None]:
    original = BotocoreStubber.__call__
    BotocoreStubber.__call__ = one_request_at_a_time(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


@contextmanager
def in_process_sandbox(functions: Iterable[str], *, log_level: str = "WARNING") -> Iterator[InProcess]:
    """Deploy the template into moto's in-process mock and set the named functions' environment."""
    from moto import mock_aws

    from sre_slack import container

    os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                       "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
                       "POWERTOOLS_LOG_LEVEL": log_level})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    template = Template.load()
    with SlackStandIn() as slack, serialized_moto(), mock_aws():
        deployment = deploy(
            template,
            parameters={"PortalUrl": "http://localhost:3002", "JwtIssuer": "https://idp.local/",
                        "JwtAudience": "sre-portal", "SlackApiUrl": slack.api_url},
            secret_values={"SlackCredentials": {"client_id": slack.client_id, "client_secret": slack.client_secret,
                                                "signing_secret": slack.signing_secret}},
        )
        for logical_id in functions:
            os.environ.update(deployment.function_env(logical_id))
        container.reset()
        yield InProcess(template, deployment, slack)
