"""The digest's read of the counters (sre_slack.storage.counters): eight days in one Query.

ISO dates sort as strings, so the report day, the day before and the week before are one key range. Apart from the
counters' writers, so that posting and feedback do not load the digest's statistics.
"""

from __future__ import annotations

from datetime import date, timedelta

from sre_slack.domain.digest_stats import TREND_DAYS, DayCounts
from sre_slack.storage import keys
from sre_slack.storage.table import table


def read_day_counts(tenant_id: str, day: date) -> list[DayCounts]:
    """The stored counters from `day` - 7 to `day` inclusive, oldest first; days without an item are absent.

    One request unless the eight items together pass DynamoDB's 1 MB page (thousands of namespaces and alert
    types a day); then the next page is followed rather than a day silently dropped. Consistent: the report
    day's counters may have been incremented moments ago by a late investigation.
    """
    first, last = keys.day_sk(day - timedelta(days=TREND_DAYS)), keys.day_sk(day)
    return [DayCounts.from_item(values)
            for values in table().query(keys.counts_pk(tenant_id), sk_between=(first, last))]
