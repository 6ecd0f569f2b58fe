"""Time to resolve, for the digest: one row per resolved investigation under the UTC day of its resolve.

`TENANT#<t>#RESOLVED` / `DAY#<yyyy-mm-dd>#INV#<investigation id>` holds the seconds from the alert firing to its
resolve (TTL 35 days after that day). The resolve path writes it once per investigation: one transaction puts the
row (only if absent) and marks SEEN (`resolve_recorded`, only if unmarked), so a redelivered `alert.resolved`,
or one carrying another `resolved_at`, adds nothing. The digest reads a day's rows with one Query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.domain.digest_stats import Resolution, resolve_seconds
from sre_slack.storage import keys
from sre_slack.storage.table import TransactionFailed, table

# Rows are only read by the digest of their day (and a late or replayed job for it, within SQS's 14 days).
RETENTION_DAYS = 35


def record_once(tenant_id: str, inv: InvestigationCompleted, resolved_at: datetime) -> bool:
    """Record how long `inv` took to resolve, under the UTC day of `resolved_at`. True when this call recorded it;
    False when it was recorded before (or `inv` is a test, which the digest does not count)."""
    if inv.test:
        return False
    day = resolved_at.astimezone(UTC).date()
    expires = datetime.combine(day + timedelta(days=RETENTION_DAYS), datetime.min.time(), UTC)
    row = {**keys.resolution_key(tenant_id, day, inv.investigation_id), "investigation_id": inv.investigation_id,
           "seconds": resolve_seconds(inv.alert.fired_at, resolved_at), "alert": inv.alert.name[:200],
           "resolved_at": resolved_at.isoformat(), "ttl": int(expires.timestamp())}
    try:
        table().transact([
            table().update_action(keys.seen_key(tenant_id, inv.investigation_id),
                                  set_={"resolve_recorded": day.isoformat()},
                                  condition="attribute_exists(pk) AND attribute_not_exists(resolve_recorded)"),
            table().put_action(row, condition="attribute_not_exists(pk)"),
        ])
    except TransactionFailed:
        return False
    return True


def read_day(tenant_id: str, day: date) -> list[Resolution]:
    """The investigations resolved on `day` (UTC), one Query (paged)."""
    return [Resolution(investigation_id=str(values.get("investigation_id") or values["sk"].rsplit("#", 1)[-1]),
                       seconds=max(0, int(values.get("seconds") or 0)), alert=str(values.get("alert") or ""))
            for values in table().query(keys.resolutions_pk(tenant_id), sk_prefix=f"{keys.day_sk(day)}#")]
