"""The 09:00 fan-out: one digest job per tenant with an active installation.

Tenants come from the sparse ActiveInstallations index (no scan); jobs go to the digest queue ten per request.
Sending a job twice is harmless (sre_slack.services.digest claims each channel's digest before posting it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sre_slack.contracts.digest import DigestJob
from sre_slack.queues.sender import SendResult, send_messages
from sre_slack.storage.installations import active_tenants


def fan_out(day: date, queue_url: str) -> SendResult:
    """One job per tenant with an active installation, for `day`, streamed from the index to the queue."""
    def entries() -> Iterator[tuple[str, str]]:
        for tenant in active_tenants():
            yield tenant, DigestJob(tenant_id=tenant, day=day).to_body()

    return send_messages(queue_url, entries())
