"""Time to resolve for the digest: one row per resolved investigation, under the UTC day of its resolve, written
once however often (and with whatever `resolved_at`) `alert.resolved` is delivered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import boto3

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.digest_stats import DayCounts
from sre_slack.storage import keys, resolutions
from sre_slack.storage.table import to_item
from tests.posting import TENANT, deliver, example, item, setup_tenant

FIRED = "2026-11-27T08:12:00Z"
DAY = date(2026, 11, 27)


def _inv(investigation_id: str = "inv_01", **alert: object) -> InvestigationCompleted:
    message = example(investigation_id=investigation_id)
    message["alert"] |= {"fired_at": FIRED, **alert}
    return InvestigationCompleted.model_validate(message)


def _seen(investigation_id: str) -> None:
    boto3.client("dynamodb").put_item(TableName=get_settings().table_name,
                                      Item=to_item(keys.seen_key(TENANT, investigation_id)))


def test_a_resolve_is_recorded_once_under_its_day(aws):
    _seen("inv_01")
    resolved = datetime(2026, 11, 27, 8, 47, 30, tzinfo=UTC)

    assert resolutions.record_once(TENANT, _inv(), resolved) is True
    # redelivered, and again with a later resolved_at (another day even): nothing more is written
    assert resolutions.record_once(TENANT, _inv(), resolved) is False
    assert resolutions.record_once(TENANT, _inv(), datetime(2026, 11, 28, 1, 0, tzinfo=UTC)) is False

    [row] = resolutions.read_day(TENANT, DAY)
    assert (row.investigation_id, row.seconds, row.alert) == ("inv_01", 35 * 60 + 30, "KubePodCrashLooping")
    assert resolutions.read_day(TENANT, date(2026, 11, 28)) == []
    stored = item(keys.resolution_key(TENANT, DAY, "inv_01"))
    assert stored is not None and stored["ttl"] > int(resolved.timestamp())
    assert (item(keys.seen_key(TENANT, "inv_01")) or {}).get("resolve_recorded") == "2026-11-27"


def test_only_the_days_own_resolves_are_read(aws):
    for n, resolved in enumerate(["2026-11-26T23:59:59Z", "2026-11-27T00:00:00Z", "2026-11-27T23:59:59Z",
                                  "2026-11-28T00:00:00Z"]):
        _seen(f"inv_{n}")
        resolutions.record_once(TENANT, _inv(f"inv_{n}"), datetime.fromisoformat(resolved))
    assert sorted(r.investigation_id for r in resolutions.read_day(TENANT, DAY)) == ["inv_1", "inv_2"]


def test_tests_and_unseen_investigations_are_not_recorded(aws):
    _seen("inv_test")
    resolved = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    test = _inv("inv_test").model_copy(update={"test": True})
    assert resolutions.record_once(TENANT, test, resolved) is False
    assert resolutions.record_once(TENANT, _inv("inv_never_seen"), resolved) is False
    assert resolutions.read_day(TENANT, DAY) == []


def test_the_posting_pipeline_records_each_resolve_once(functions, slack, aws):
    setup_tenant(functions, slack)
    deliver(aws, example())
    resolved = example("alert_resolved")
    deliver(aws, resolved, resolved)  # SQS delivers at least once
    deliver(aws, resolved | {"resolved_at": "2026-11-27T09:30:00Z"})  # a later resolve of the same investigation

    [row] = resolutions.read_day(TENANT, DAY)
    assert (row.investigation_id, row.seconds) == ("inv_01JD4X8Y2Z", 35 * 60 + 30)


def test_the_first_sighting_counts_the_signature_once(functions, slack, aws):
    setup_tenant(functions, slack)
    first = example()
    long_namespace = "ns-" + "x" * 300
    first["alert"]["namespace"] = long_namespace
    deliver(aws, first, first)  # redelivered
    deliver(aws, first | {"root_cause": "Re-investigated."})  # a re-investigation is not a new alert

    stored = item(keys.counts_key(TENANT, date(2026, 11, 27)))
    assert stored is not None
    counts = DayCounts.from_item(stored)
    # each part of a signature is cut to 100 characters; the namespace counter keeps its 200
    assert counts.by_signature == {("production-us-east", "KubePodCrashLooping", long_namespace[:100]): 1}
    assert counts.total == 1
