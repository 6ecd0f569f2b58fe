"""Send example messages to the running sandbox's investigation queue (`make enqueue EVENT=...`).

    python -m localdev.enqueue events/investigation_completed.json [--tenant t_local] [--new-id]

The tenant id in the file is replaced by the sandbox's tenant (the one `make run` was started with) so that the
message reaches the workspace installed from the local portal; --new-id (`make enqueue NEW_ID=1`) gives the
investigation a fresh id: a new alert, not an update. Before sending, the sandbox's own records say what will come
of it: an investigation id that was already posted is a redelivery, and nothing new appears in Slack (the posted
message is updated in place if the content changed).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

from localdev.sandbox import (
    REGION,
    RunningSandbox,
    SandboxNotRunning,
    SandboxUnusable,
    connect_to_running_sandbox,
    local_resource_name,
    running_sandbox,
)
from sre_slack.contracts.investigation import AlertResolved, InvalidMessage, parse_investigation_message
from sre_slack.storage.investigations import load_state, payload_sha

NEW_ID_HINT = "make enqueue EVENT=... NEW_ID=1 sends it as a new alert"


class BadEventFile(SystemExit):
    """The EVENT file cannot be sent: one line that says why."""


def read_message(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadEventFile(f"enqueue: {path}: no such file (EVENT= names a JSON message, e.g. "
                           "events/investigation_completed.json)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadEventFile(f"enqueue: {path}: cannot be read ({exc})") from None
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadEventFile(f"enqueue: {path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(message, dict):
        raise BadEventFile(f"enqueue: {path}: not a JSON object, so not a queue message")
    return message


def what_will_happen(tenant_id: str, message: dict[str, Any]) -> str | None:
    """What the sandbox's records (the investigation's SEEN item and deliveries) say this message will do, when it
    is not simply a new investigation being posted."""
    try:
        parsed = parse_investigation_message(json.dumps(message))
    except InvalidMessage as exc:
        return f"it does not match the contract, so it goes to the dead-letter queue: {exc}"
    state = load_state(tenant_id, parsed.investigation_id)
    stored = state.stored
    if isinstance(parsed, AlertResolved):
        if stored is None:
            return f"{parsed.investigation_id} was never posted for {tenant_id}: there is nothing to mark resolved"
        if stored.resolved_at is not None:
            return f"{parsed.investigation_id} is already resolved: a redelivery, nothing changes in Slack"
        return None
    if stored is None:
        return None
    where = ", ".join(f"{channel} {delivery.status}" for channel, delivery in sorted(state.deliveries.items()))
    posted = f"{parsed.investigation_id} was already posted ({where or 'no channel'})"
    if payload_sha(parsed) == stored.payload_sha:
        return f"{posted}: a redelivery of the same content, nothing new will appear in Slack ({NEW_ID_HINT})"
    return (f"{posted}: a redelivery with changed content (a re-investigation); no new message, the posted one is "
            f"updated in place ({NEW_ID_HINT})")


def queue_url(sandbox: RunningSandbox) -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    try:
        return str(sqs.get_queue_url(QueueName=local_resource_name("InvestigationQueue"))["QueueUrl"])
    except ClientError as exc:
        raise SandboxUnusable(sandbox, "investigation queue") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--tenant", default=None, help="default: the tenant `make run` was started with")
    parser.add_argument("--new-id", action="store_true", help="give each message a fresh investigation id")
    args = parser.parse_args(argv)
    messages = [(path, read_message(path)) for path in args.files]  # every file checked before anything is sent
    sandbox = connect_to_running_sandbox(running_sandbox())
    tenant = args.tenant or sandbox.tenant_id
    try:
        url = queue_url(sandbox)
        sqs = boto3.client("sqs", region_name=REGION)
        for path, message in messages:
            message["tenant_id"] = tenant
            if args.new_id:
                message["investigation_id"] = f"inv_{secrets.token_hex(5)}"
            note = what_will_happen(tenant, message)
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
            print(f"enqueued {message.get('type')} {message.get('investigation_id')} for {tenant} from {path}")
            if note:
                print(f"  note: {note}")
    except EndpointConnectionError:
        raise SandboxNotRunning(sandbox) from None
    except ClientError as exc:  # e.g. no such table: not the sandbox's moto
        raise SandboxUnusable(sandbox, "table") from exc
    return 0


if __name__ == "__main__":
    sys.exit(main())
