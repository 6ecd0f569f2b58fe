"""The resources added for operations exist in the local emulator too, as the template declares them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from localdev.aws import Deployment, deploy
from localdev.template import Template

TEMPLATE = Template.load()
PARAMETERS = {"PortalUrl": "https://portal.example.com", "JwtIssuer": "https://idp.example.com",
              "JwtAudience": "sre-portal"}  # fmt: skip


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield deploy(TEMPLATE, parameters=PARAMETERS)


def test_the_engine_bus_exists_and_takes_the_integrations_events(deployment: Deployment) -> None:
    events = boto3.client("events", region_name="us-east-1")
    outputs = deployment.outputs()
    assert deployment.function_env("EngineEventsFunction")["ENGINE_EVENT_BUS_NAME"] == outputs["EngineEventBusName"]
    bus = events.describe_event_bus(Name=outputs["EngineEventBusName"])
    assert bus["Arn"] == outputs["EngineEventBusArn"] and bus["Name"] == f"{deployment.stack_name}-engine"
    # What the engine does to subscribe (README, "Deploying"), and what the integration puts.
    events.put_rule(Name="engine", EventBusName=bus["Name"], EventPattern=json.dumps({"source": ["ai-sre.slack"]}))
    answer = events.put_events(Entries=[{"EventBusName": bus["Name"], "Source": "ai-sre.slack",
                                         "DetailType": "feedback.recorded", "Detail": json.dumps({"version": "1"})}])
    assert answer["FailedEntryCount"] == 0


def test_the_table_streams_new_images_to_the_outbox_publisher(deployment: Deployment) -> None:
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(
        TableName=deployment.physical_name("SlackTable"))["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert deployment.get_att("SlackTable", "StreamArn") == table["LatestStreamArn"]
    [source] = TEMPLATE.stream_sources()
    assert (source.function, source.table, source.on_failure) == (
        "EngineEventsFunction", "SlackTable", "EngineEventsFailureQueue")
    assert deployment.outputs()["EngineEventsFailureQueueUrl"] == deployment.queue_url("EngineEventsFailureQueue")


def test_the_fan_out_failure_queue_exists_with_its_policy(deployment: Deployment) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    outputs = deployment.outputs()
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["DigestScheduleFailureQueueUrl"],
                                          AttributeNames=["All"])["Attributes"]  # fmt: skip
    assert attributes["QueueArn"] == outputs["DigestScheduleFailureQueueArn"]
    statement = json.loads(attributes["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(f":rule/{deployment.stack_name}-daily-digest")


def test_log_groups_exist_with_the_retention_parameter(deployment: Deployment) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    for logical_id in TEMPLATE.functions():
        name = f"/aws/lambda/{deployment.function_name(logical_id)}"
        assert groups[name]["retentionInDays"] == int(TEMPLATE.parameters["LogRetentionInDays"].default)
    assert deployment.outputs()["ApiAccessLogGroupName"] in groups


def test_every_output_resolves_locally(deployment: Deployment) -> None:
    outputs = deployment.outputs()
    assert set(outputs) == set(TEMPLATE.outputs)
    assert all(value and "${" not in value for value in outputs.values()), outputs
