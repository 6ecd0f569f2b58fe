"""Everything in one process for scripts (benchmarks, the digest CLI): moto in-process with the template's
resources, the Slack stand-in on loopback, and the environment of the functions a script runs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from localdev.aws import Deployment, deploy
from localdev.slack_standin import SlackStandIn
from localdev.template import Template


@dataclass(frozen=True)
class InProcess:
    template: Template
    deployment: Deployment
    slack: SlackStandIn


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
    with SlackStandIn() as slack, mock_aws():
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
