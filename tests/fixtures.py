"""Fixtures, imported by the conftest of each tier that needs them: AWS emulated by moto (resources created
from template.yaml itself, so the two never drift) and a real Slack Web API stand-in on loopback that slack_sdk
talks to through SLACK_API_URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from localdev.aws import Deployment, deploy
from localdev.handlers import LocalFunctions
from localdev.in_process import one_request_at_a_time
from localdev.slack_standin import SlackStandIn
from localdev.stream_pump import StreamPump
from localdev.template import Template
from sre_slack import container

TEMPLATE = Template.load()
PORTAL_URL = "https://portal.example.com"
TEMPLATE_PARAMETERS = {
    "PortalUrl": PORTAL_URL,
    "JwtIssuer": "https://idp.example.com/",
    "JwtAudience": "sre-portal",
}


@pytest.fixture(scope="session")
def slack_server() -> Iterator[SlackStandIn]:
    server = SlackStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def slack(slack_server: SlackStandIn) -> Iterator[SlackStandIn]:
    slack_server.reset()
    yield slack_server
    slack_server.reset()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, slack_server: SlackStandIn) -> Iterator[Deployment]:
    """A fresh emulated AWS account holding the template's resources, with every function's environment set."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "AiSre/Slack")
    # moto in process serves DynamoDB Streams on its regional endpoint only, not on the account-based one.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    serialize_moto(monkeypatch)
    with mock_aws():
        deployment = deploy(
            TEMPLATE,
            parameters={**TEMPLATE_PARAMETERS, "SlackApiUrl": slack_server.api_url,
                        "SlackAuthorizeUrl": slack_server.authorize_url},
            secret_values={"SlackCredentials": {
                "client_id": slack_server.client_id,
                "client_secret": slack_server.client_secret,
                "signing_secret": slack_server.signing_secret,
            }},
        )
        # Shared code called directly from tests sees the variables the functions agree on; handlers run with
        # exactly their own. A name with different values per function (a function's own dead-letter queue)
        # is left out rather than silently taking one function's value.
        values: dict[str, set[str]] = {}
        for logical_id in TEMPLATE.functions():
            for name, value in deployment.function_env(logical_id).items():
                values.setdefault(name, set()).add(value)
        for name, candidates in values.items():
            if len(candidates) == 1:
                monkeypatch.setenv(name, candidates.pop())
            else:
                monkeypatch.delenv(name, raising=False)
        container.reset()
        yield deployment
        container.reset()


@pytest.fixture
def functions(aws: Deployment) -> LocalFunctions:
    """The template's functions, invoked like Lambda does (JSON in and out, their own environment)."""
    return LocalFunctions(TEMPLATE, aws)


@pytest.fixture
def streams(aws: Deployment) -> StreamPump:
    """Lambda's event source mapping on SlackTable's stream: `streams.drain()` runs the outbox publisher."""
    return StreamPump(TEMPLATE, aws, quiet=True)


@dataclass
class BusTap:
    """A rule on the engine bus with an SQS target, the way the engine subscribes: what reached the bus."""

    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        """The EventBridge events delivered since the last call (their envelopes, `detail` parsed)."""
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def details(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [e["detail"] for e in self.received() if detail_type in (None, e["detail-type"])]


@pytest.fixture
def engine_bus(aws: Deployment) -> BusTap:
    events, sqs = boto3.client("events"), boto3.client("sqs")
    bus = aws.outputs()["EngineEventBusName"]
    url = sqs.create_queue(QueueName="engine-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="engine-subscriber", EventBusName=bus, EventPattern=json.dumps({"source": ["ai-sre.slack"]}))
    events.put_targets(Rule="engine-subscriber", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return BusTap(url)


def serialize_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """One emulated AWS request at a time (localdev.in_process.one_request_at_a_time says why)."""
    monkeypatch.setattr(BotocoreStubber, "__call__", one_request_at_a_time(BotocoreStubber.__call__))
