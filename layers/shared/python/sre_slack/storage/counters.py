"""The alert and rating counters behind the daily digest: one item per tenant and UTC day.

`TENANT#<t>#COUNTS` / `DAY#YYYY-MM-DD` holds flat numeric attributes incremented with ADD: `total`, `sev#<s>`,
`ns#<n>`, `alert#<a>`, `cluster#<c>` (one alert each, written in the same transaction that first sees the
investigation) and `rating#<r>` (moved by feedback clicks). ISO dates sort as strings, so the report day, the day
before and the week before are one key range: eight days in one Query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.domain.digest_stats import TREND_DAYS, DayCounts
from sre_slack.storage import keys
from sre_slack.storage.table import table

# The attribute-name part of a counter (sev#<s>, ns#<n>, ...) is capped; names come from outside.
COUNTER_NAME_MAX = 200


def _counter_name(prefix: str, name: str) -> str:
    return f"{prefix}#{name[:COUNTER_NAME_MAX]}"


def alert_counter_names(inv: InvestigationCompleted) -> list[str]:
    """The counters one alert increments (CONTRACT.md: severity, namespace, alert name, cluster)."""
    names = ["total", _counter_name("sev", inv.alert.severity), _counter_name("alert", inv.alert.name),
             _counter_name("cluster", inv.cluster)]
    if inv.alert.namespace and inv.alert.namespace.strip():
        names.append(_counter_name("ns", inv.alert.namespace))
    return list(dict.fromkeys(names))


def count_alert_action(tenant_id: str, inv: InvestigationCompleted) -> dict[str, Any]:
    """The transaction action adding one alert to the counters of the UTC day it fired."""
    return table().update_action(keys.counts_key(tenant_id, inv.alert.fired_at.date()),
                                 add={name: 1 for name in alert_counter_names(inv)})


def rating_actions(tenant_id: str, deltas: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    """Transaction actions moving rating counters: {"YYYY-MM-DD": {"accurate": 1, "needs_improvement": -1}}.
    One update per day item: a transaction may not touch an item twice."""
    return [table().update_action(keys.counts_key(tenant_id, date.fromisoformat(day)),
                                  add={_counter_name("rating", rating): delta for rating, delta in changes.items()})
            for day, changes in deltas.items() if changes]


def read_day_counts(tenant_id: str, day: date) -> list[DayCounts]:
    """The stored counters from `day` - 7 to `day` inclusive, oldest first; days without an item are absent.

    One request unless the eight items together pass DynamoDB's 1 MB page (thousands of namespaces and alert
    types a day); then the next page is followed rather than a day silently dropped. Consistent: the report
    day's counters may have been incremented moments ago by a late investigation.
    """
    first, last = keys.day_sk(day - timedelta(days=TREND_DAYS)), keys.day_sk(day)
    return [DayCounts.from_item(values)
            for values in table().query(keys.counts_pk(tenant_id), sk_between=(first, last))]
