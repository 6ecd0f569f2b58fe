"""Putting messages on a queue: one (Test Integration's sample), or many in batches of ten (the digest fan-out)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sre_slack import aws

# SendMessageBatch takes at most 10 entries.
SQS_BATCH_MAX = 10
# A batch entry SQS refused for a reason that can pass (throttling, internal error) is sent again this often.
SEND_ATTEMPTS = 3


@dataclass
class SendResult:
    sent: int = 0
    # Keys whose message SQS still refused after SEND_ATTEMPTS, with SQS's error code.
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0


def send_message(queue_url: str, body: str) -> str:
    """One message; returns its id. Raises whatever SQS raises (the caller answers for it)."""
    return str(aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body).get("MessageId", ""))


def _batches(entries: Iterable[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == SQS_BATCH_MAX:
            yield batch
            batch = []
    if batch:
        yield batch


def send_messages(queue_url: str, entries: Iterable[tuple[str, str]], *, client: Any = None) -> SendResult:
    """Send `(key, body)` entries, ten per SendMessageBatch call, streaming: entries are not collected first.

    A key listed twice is sent once. Entries SQS refuses are sent again a few times; what still fails is
    reported, not raised, so that the caller decides.
    """
    client = client or aws.client("sqs")
    result = SendResult()
    seen: set[str] = set()

    def unique() -> Iterator[tuple[str, str]]:
        for key, body in entries:
            if key not in seen:
                seen.add(key)
                yield key, body

    for batch in _batches(unique()):
        pending = {str(i): entry for i, entry in enumerate(batch)}
        errors: dict[str, str] = {}
        for _ in range(SEND_ATTEMPTS):
            response = client.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, (_key, body) in pending.items()])
            result.requests += 1
            result.sent += len(response.get("Successful", []))
            failed = response.get("Failed", [])
            errors = {pending[f["Id"]][0]: str(f.get("Code", "unknown")) for f in failed}
            # A sender fault (bad entry) will not pass by sending again; anything else may.
            for f in failed:
                if f.get("SenderFault"):
                    result.failed[pending[f["Id"]][0]] = str(f.get("Code", "unknown"))
            pending = {f["Id"]: pending[f["Id"]] for f in failed if not f.get("SenderFault")}
            if not pending:
                break
        for key, _body in pending.values():
            result.failed[key] = errors.get(key, "unknown")
    return result
