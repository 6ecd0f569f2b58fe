"""Shared set-up for the post_investigation tests: an installed tenant with routing, the investigation queue
driven by the local SQS pump (real Lambda SQS events, partial batch failures, redrive), and readers of what
landed in DynamoDB."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3

from localdev.sqs_pump import SqsPump, sqs_record
from sre_slack.aws import client as aws_client
from sre_slack.contracts.settings import get_settings
from sre_slack.storage import keys
from sre_slack.storage.table import from_item, to_item
from sre_slack.storage.tenant_config import put_routing
from tests.fixtures import TEMPLATE
from tests.support import run_install

EVENTS = Path(__file__).resolve().parent.parent / "events"
TENANT = "t_acme"
FUNCTION = "PostInvestigationFunction"


def example(name: str = "investigation_completed", **changes: Any) -> dict[str, Any]:
    message = json.loads((EVENTS / f"{name}.json").read_text())
    message = copy.deepcopy(message)
    for key, value in changes.items():
        message[key] = value
    return message


def setup_tenant(functions, slack, channels: dict[str, dict[str, Any]] | None = None,
                 routing: dict[str, Any] | None = None, tenant: str = TENANT) -> None:
    """Install the app for `tenant` and route production-us-east to the given channels (public, bot not
    a member: chat:write.public lets it post)."""
    channels = channels or {"C0PROD": {}}
    for channel_id, options in channels.items():
        slack.add_channel(channel_id, channel_id.lower(), **options)
    run = run_install(functions, slack, tenant=tenant)
    assert run.callback.status == 302
    put_routing(tenant, routing or {"default_channels": [],
                                    "routes": [{"cluster": "production-us-east", "channels": list(channels)}]})


def send(aws, *messages: dict[str, Any] | str) -> list[str]:
    sqs = boto3.client("sqs")
    url = aws.queue_url("InvestigationQueue")
    ids = []
    for message in messages:
        body = message if isinstance(message, str) else json.dumps(message)
        ids.append(sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"])
    return ids


def pump(aws, **options: Any) -> SqsPump:
    return SqsPump(TEMPLATE, aws, quiet=True, **options)


def deliver(aws, *messages: dict[str, Any] | str):
    """Send and let the event source mapping process everything receivable now."""
    send(aws, *messages)
    return pump(aws).drain()


def attempt(aws, *messages: dict[str, Any] | str):
    """Send and process one batch; what fails is visible again at once (for the test's next step)."""
    send(aws, *messages)
    return pump(aws, failed_visibility_timeout=0).run_once()


def lambda_event(aws, *messages: dict[str, Any] | str, receive_count: int = 1) -> dict[str, Any]:
    """An SQS Lambda event built from messages really sent to and received from the queue."""
    sqs = boto3.client("sqs")
    url = aws.queue_url("InvestigationQueue")
    send(aws, *messages)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    records = [sqs_record(m, queue_arn=aws.queue_arn("InvestigationQueue"), region=aws.region)
               for m in received["Messages"]]
    for record in records:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return {"Records": records}


def item(key: dict[str, str]) -> dict[str, Any] | None:
    found = boto3.client("dynamodb").get_item(TableName=get_settings().table_name, Key=to_item(key),
                                              ConsistentRead=True).get("Item")
    return from_item(found) if found else None


def delivery(investigation_id: str, channel: str, tenant: str = TENANT) -> dict[str, Any] | None:
    return item(keys.delivery_key(tenant, investigation_id, channel))


def queue_messages(aws, logical_id: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    response = sqs.receive_message(QueueUrl=aws.queue_url(logical_id), MaxNumberOfMessages=10,
                                   MessageAttributeNames=["All"], VisibilityTimeout=0)
    return response.get("Messages", [])


def visible_count(aws, logical_id: str = "InvestigationQueue") -> tuple[int, int]:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws.queue_url(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def redrive(aws, dead_letter_queue: str, source_queue: str, copies: int = 1) -> int:
    """What `aws sqs start-message-move-task` does (moto lacks it): every DLQ message back to the source queue,
    body and message attributes unchanged. `copies` > 1 sends each twice (a repeated redrive, or SQS
    delivering the moved message twice). Returns how many DLQ messages were moved."""
    sqs = boto3.client("sqs")
    dlq_url, source_url = aws.queue_url(dead_letter_queue), aws.queue_url(source_queue)
    moved = 0
    while messages := sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                          VisibilityTimeout=30).get("Messages", []):
        for message in messages:
            for _ in range(copies):
                sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"],
                                 MessageAttributes=message.get("MessageAttributes", {}))
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


RESENT_NOTICE = "re-sent after a Slack error; an earlier copy may exist"


def is_labelled_resend(message: Any) -> bool:
    """The message says it may be a duplicate (CONTRACT.md: a re-send after an ambiguous Slack answer)."""
    return RESENT_NOTICE in json.dumps(message.blocks, ensure_ascii=False)


def invoke_like_lambda(functions, aws, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the handler with an event from `lambda_event` and, like the event source mapping, delete the records
    that did not fail from the queue."""
    answer = functions.invoke(FUNCTION, event)
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    sqs = boto3.client("sqs")
    for record in event["Records"]:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=aws.queue_url("InvestigationQueue"), ReceiptHandle=record["receiptHandle"])
    return answer


class VisibilityChanges:
    """The visibility timeouts the functions ask SQS for (Retry-After, the re-send backoff), as they ask."""

    def __init__(self) -> None:
        self.seconds: list[int] = []
        aws_client("sqs").meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.seconds.append(int(params["VisibilityTimeout"]))
