"""Reading a tenant's alert counters for the digest: eight days in one DynamoDB Query.

The counters of a tenant share the partition `TENANT#<t>#COUNTS` with one item per UTC day (`DAY#YYYY-MM-DD`),
and ISO dates sort as strings, so the report day, the day before and the week before are one key range.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from sre_slack.aws import dynamodb
from sre_slack.contracts.settings import get_settings
from sre_slack.domain.digest_stats import TREND_DAYS, DayCounts
from sre_slack.storage import keys
from sre_slack.storage.items import to_attr

_deserializer = TypeDeserializer()


def read_day_counts(tenant_id: str, day: date) -> list[DayCounts]:
    """The stored counters from `day` - 7 to `day` inclusive, oldest first; days without an item are absent.

    One request unless the eight items together pass DynamoDB's 1 MB page (thousands of namespaces and alert
    types a day); then the next page is followed rather than a day silently dropped.
    """
    request: dict[str, Any] = {
        "TableName": get_settings().table_name,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
        "ExpressionAttributeValues": {
            ":pk": to_attr(keys.counts_pk(tenant_id)),
            ":first": to_attr(keys.day_sk(day - timedelta(days=TREND_DAYS))),
            ":last": to_attr(keys.day_sk(day)),
        },
        # Counters of the report day may have been incremented moments ago by a late investigation.
        "ConsistentRead": True,
    }
    days: list[DayCounts] = []
    while True:
        response = dynamodb().query(**request)
        for item in response.get("Items", []):
            days.append(DayCounts.from_item({k: _deserializer.deserialize(v) for k, v in item.items()}))
        if "LastEvaluatedKey" not in response:
            return days
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


__all__ = ["read_day_counts"]
