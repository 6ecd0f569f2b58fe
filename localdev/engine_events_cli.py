"""Print the outbound events the running sandbox put on the engine bus (`make engine-events`).

    python -m localdev.engine_events_cli [--keep]

The sandbox subscribes to its engine bus like the engine would (a rule with an SQS target, localdev.sandbox);
this reads that queue and prints one event per line: its detail-type and its detail. Read events are deleted
unless --keep.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

from localdev.sandbox import (
    ENGINE_SUBSCRIBER,
    REGION,
    SandboxNotRunning,
    SandboxUnusable,
    connect_to_running_sandbox,
    local_resource_name,
    running_sandbox,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="leave the events in the queue")
    args = parser.parse_args(argv)
    sandbox = connect_to_running_sandbox(running_sandbox())
    sqs = boto3.client("sqs", region_name=REGION)
    try:
        url = sqs.get_queue_url(QueueName=local_resource_name(ENGINE_SUBSCRIBER))["QueueUrl"]
        shown = 0
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                              VisibilityTimeout=0 if args.keep else 30).get("Messages"):
            for message in messages:
                event = json.loads(message["Body"])
                print(f"{event['detail-type']:42} {json.dumps(event['detail'], ensure_ascii=False)}")
                shown += 1
                if not args.keep:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if args.keep:
                break
    except EndpointConnectionError:
        raise SandboxNotRunning(sandbox) from None
    except ClientError as exc:
        raise SandboxUnusable(sandbox, "engine bus subscription") from exc
    if not shown:
        print("no events yet (click Acknowledge, a rating or ⋯ Re-investigate on a message in the Slack stand-in)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
