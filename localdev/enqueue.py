"""Send example messages to the running sandbox's investigation queue (`make enqueue EVENT=...`).

    python -m localdev.enqueue events/investigation_completed.json [--tenant t_local] [--new-id]

The tenant id in the file is replaced by the sandbox's tenant so that the message reaches the workspace
installed from the local portal; --new-id gives the investigation a fresh id (a new alert, not an update).
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

import boto3

from localdev.aws import DEFAULT_STACK_NAME
from localdev.sandbox import REGION, Ports, use_local_aws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--tenant", default="t_local")
    parser.add_argument("--new-id", action="store_true", help="give each message a fresh investigation id")
    args = parser.parse_args()
    use_local_aws(Ports())
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.get_queue_url(QueueName=f"{DEFAULT_STACK_NAME}-InvestigationQueue")["QueueUrl"]
    for path in args.files:
        message = json.loads(path.read_text())
        message["tenant_id"] = args.tenant
        if args.new_id:
            message["investigation_id"] = f"inv_{secrets.token_hex(5)}"
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
        print(f"enqueued {message.get('type')} {message.get('investigation_id')} from {path}")


if __name__ == "__main__":
    main()
