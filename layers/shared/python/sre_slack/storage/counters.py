"""The alert and rating counters behind the daily digest: one item per tenant and UTC day.

`TENANT#<t>#COUNTS` / `DAY#YYYY-MM-DD` holds flat numeric attributes incremented with ADD: `total`, `sev#<s>`,
`ns#<n>`, `alert#<a>`, `cluster#<c>`, `sig#<["cluster","alert","namespace"|null]>` (one alert each, written in the
same transaction that first sees the investigation, so exactly once per investigation) and `rating#<r>` (moved by
feedback clicks). The digest reads them (sre_slack.storage.digest_counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.domain.digest_stats import SIGNATURE_PREFIX, signature_name
from sre_slack.storage import keys
from sre_slack.storage.table import table

# The attribute-name part of a counter (sev#<s>, ns#<n>, ...) is capped; names come from outside.
COUNTER_NAME_MAX = 200
# Each part of a signature is capped shorter: three names in one attribute name, and the item (400 KB) holds
# every counter of the day.
SIGNATURE_PART_MAX = 100


def _counter_name(prefix: str, name: str) -> str:
    return f"{prefix}#{name[:COUNTER_NAME_MAX]}"


def alert_counter_names(inv: InvestigationCompleted) -> list[str]:
    """The counters one alert increments (CONTRACT.md: severity, namespace, alert name, cluster)."""
    names = ["total", _counter_name("sev", inv.alert.severity), _counter_name("alert", inv.alert.name),
             _counter_name("cluster", inv.cluster)]
    namespace = inv.alert.namespace if inv.alert.namespace and inv.alert.namespace.strip() else None
    if namespace is not None:
        names.append(_counter_name("ns", namespace))
    # Alike alerts of the day (the digest's "Storms"): cluster + alert name + namespace.
    names.append(f"{SIGNATURE_PREFIX}#" + signature_name(
        inv.cluster[:SIGNATURE_PART_MAX], inv.alert.name[:SIGNATURE_PART_MAX],
        namespace[:SIGNATURE_PART_MAX] if namespace is not None else None))
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
