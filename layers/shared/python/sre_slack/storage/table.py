"""SlackTable, the integration's one DynamoDB table, behind one small helper.

Every storage module goes through `table()`: the low-level client, conversion between plain Python values and
DynamoDB's attribute values, Query paging, expressions with their placeholders, conditional writes (a failed
condition is `ConditionFailed`, carrying the item as it was when asked), and the in-process retry of transaction
conflicts. Nothing outside `storage/` touches DynamoDB.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from sre_slack import aws
from sre_slack.contracts.settings import get_settings

Key = dict[str, str]

# In-process attempts at a transaction whose items other writers hold right now (TransactionConflict).
CONFLICT_ATTEMPTS = 4

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write found its condition false. `item` is the item as stored (when it was asked for)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionFailed(Exception):
    """A transaction was cancelled by a failed condition; `codes` has one entry per action, in order."""

    def __init__(self, codes: list[str | None]) -> None:
        super().__init__(f"transaction cancelled: {codes}")
        self.codes = codes

    def failed_at(self, index: int) -> bool:
        return index < len(self.codes) and self.codes[index] == "ConditionalCheckFailed"


class Contention(Exception):
    """Concurrent writers kept conflicting on the same items: the caller retries later (an SQS redelivery)."""


# ------------------------------------------------------------------------------------------------ values


def _prepare(value: Any) -> Any:
    # DynamoDB has no float type; boto3 refuses floats rather than guess a precision.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _prepare(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value]
    return value


def to_attr(value: Any) -> dict[str, Any]:
    """One plain value as an attribute value (None becomes NULL)."""
    if value is None:
        return {"NULL": True}
    return _serializer.serialize(_prepare(value))


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """A plain mapping as an item, without its None values (absent attributes keep sparse indexes sparse)."""
    return {k: _serializer.serialize(_prepare(v)) for k, v in values.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as plain values: integers for whole numbers, bytes for binary, sets for sets."""
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


# ------------------------------------------------------------------------------------------------ expressions


@dataclass
class Expression:
    """Placeholders shared by the update, condition and key expressions of one request."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def name(self, attribute: str) -> str:
        for placeholder, known in self.names.items():
            if known == attribute:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def condition(self, template: str, **operands: Any) -> str:
        """`template` with `{status}`-style attribute names and `{:name}`-style values filled in:
        `condition("{status} = {:posting}", status="status", posting="posting")`."""
        text = template
        for key, operand in operands.items():
            if "{:" + key + "}" in text:
                text = text.replace("{:" + key + "}", self.value(operand))
            if "{" + key + "}" in text:
                text = text.replace("{" + key + "}", self.name(operand))
        return text

    def update(self, set_: Mapping[str, Any] | None = None, add: Mapping[str, Any] | None = None,
               remove: Iterable[str] = ()) -> str:
        """`SET a = :v0, … ADD c :v2 … REMOVE d, …` for plain values (a None in `set_` stores NULL)."""
        parts: list[str] = []
        if set_:
            parts.append("SET " + ", ".join(f"{self.name(k)} = {self.value(v)}" for k, v in set_.items()))
        if add:
            parts.append("ADD " + ", ".join(f"{self.name(k)} {self.value(v)}" for k, v in add.items()))
        removed = list(dict.fromkeys(remove))
        if removed:
            parts.append("REMOVE " + ", ".join(self.name(k) for k in removed))
        return " ".join(parts)

    def request(self) -> dict[str, Any]:
        """The placeholder maps of a request (absent when empty: DynamoDB refuses empty maps)."""
        request: dict[str, Any] = {}
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = {k: to_attr(v) for k, v in self.values.items()}
        return request


# ------------------------------------------------------------------------------------------------ the table


class Table:
    def __init__(self, name: str, client: Any) -> None:
        self.name = name
        self.client = client

    # --- reads

    def get(self, key: Key, *, consistent: bool = True) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.name, Key=to_item(key), ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def query(self, partition: str, *, sk_prefix: str | None = None, sk_between: tuple[str, str] | None = None,
              index: str | None = None, partition_key: str = "pk", consistent: bool = True,
              keys_only: bool = False, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a partition (optionally a sort-key range), following pages; plain values."""
        expr = Expression()
        condition = f"{expr.name(partition_key)} = {expr.value(partition)}"
        if sk_prefix is not None:
            condition += f" AND begins_with({expr.name('sk')}, {expr.value(sk_prefix)})"
        elif sk_between is not None:
            condition += f" AND {expr.name('sk')} BETWEEN {expr.value(sk_between[0])} AND {expr.value(sk_between[1])}"
        request: dict[str, Any] = {"TableName": self.name, "KeyConditionExpression": condition, **expr.request()}
        if index is not None:
            request["IndexName"] = index  # global indexes are eventually consistent only
        else:
            request["ConsistentRead"] = consistent
        if keys_only and index is None:
            request["ProjectionExpression"] = "pk, sk"
        if page_size is not None:
            request["Limit"] = page_size
        while True:
            response = self.client.query(**request)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # --- single-item writes

    def put(self, item: Mapping[str, Any], *, condition: str | None = None, expr: Expression | None = None) -> None:
        request: dict[str, Any] = {"TableName": self.name, "Item": to_item(item)}
        self._conditional(request, condition, expr)
        self._write(self.client.put_item, request)

    def update(self, key: Key, *, set_: Mapping[str, Any] | None = None, add: Mapping[str, Any] | None = None,
               remove: Iterable[str] = (), condition: str | None = None, expr: Expression | None = None,
               return_new: bool = False, return_old: bool = False) -> dict[str, Any] | None:
        """One UpdateItem. Raises `ConditionFailed` (with the stored item) when `condition` is false. Returns the item
        after (`return_new`) or before (`return_old`: None when it did not exist) the update."""
        expr = expr or Expression()
        request: dict[str, Any] = {"TableName": self.name, "Key": to_item(key),
                                   "UpdateExpression": expr.update(set_, add, remove)}
        if return_new or return_old:
            request["ReturnValues"] = "ALL_NEW" if return_new else "ALL_OLD"
        self._conditional(request, condition, expr)
        return self._returned(self._write(self.client.update_item, request))

    def delete(self, key: Key, *, condition: str | None = None, expr: Expression | None = None,
               return_old: bool = False) -> dict[str, Any] | None:
        request: dict[str, Any] = {"TableName": self.name, "Key": to_item(key)}
        if return_old:
            request["ReturnValues"] = "ALL_OLD"
        self._conditional(request, condition, expr)
        return self._returned(self._write(self.client.delete_item, request))

    @staticmethod
    def _returned(response: dict[str, Any]) -> dict[str, Any] | None:
        attributes = response.get("Attributes")
        return from_item(attributes) if attributes else None

    def _conditional(self, request: dict[str, Any], condition: str | None, expr: Expression | None) -> None:
        if condition is not None:
            request["ConditionExpression"] = condition
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if expr is not None:
            request.update(expr.request())

    def _write(self, call: Any, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return call(**request)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            raise ConditionFailed(from_item(old) if old else None) from exc

    # --- transactions

    def put_action(self, item: Mapping[str, Any], *, condition: str | None = None,
                   expr: Expression | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self.name, "Item": to_item(item)}
        if condition is not None:
            action["ConditionExpression"] = condition
        if expr is not None:
            action.update(expr.request())
        return {"Put": action}

    def update_action(self, key: Key, *, set_: Mapping[str, Any] | None = None, add: Mapping[str, Any] | None = None,
                      remove: Iterable[str] = (), condition: str | None = None,
                      expr: Expression | None = None) -> dict[str, Any]:
        expr = expr or Expression()
        action: dict[str, Any] = {"TableName": self.name, "Key": to_item(key),
                                  "UpdateExpression": expr.update(set_, add, remove)}
        if condition is not None:
            action["ConditionExpression"] = condition
        action.update(expr.request())
        return {"Update": action}

    def check_action(self, key: Key, condition: str, expr: Expression | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self.name, "Key": to_item(key), "ConditionExpression": condition}
        if expr is not None:
            action.update(expr.request())
        return {"ConditionCheck": action}

    def transact(self, actions: list[dict[str, Any]]) -> None:
        """All or nothing. A failed condition raises `TransactionFailed`; concurrent writers holding the same items
        (TransactionConflict: nothing was written) are waited out with a short jittered retry, then `Contention`."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=actions)
                return
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in codes:
                    raise TransactionFailed(codes) from exc
                if attempt + 1 == CONFLICT_ATTEMPTS:
                    raise Contention(f"transaction cancelled: {codes}") from exc
            except self.client.exceptions.TransactionConflictException as exc:
                if attempt + 1 == CONFLICT_ATTEMPTS:
                    raise Contention("transaction conflict") from exc
            _backoff(attempt)
        raise Contention("transaction conflict")


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # noqa: S311 - jitter, not security


def retry_on_conflict(attempts: int = CONFLICT_ATTEMPTS) -> Iterator[int]:
    """Attempts of an optimistic read-then-conditional-write: `for attempt in retry_on_conflict(): ...`; the loop
    body `break`s (or returns) once its write went through. Raises `Contention` when every attempt lost."""
    for attempt in range(attempts):
        if attempt:
            _backoff(attempt - 1)
        yield attempt
    raise Contention("the item kept changing under concurrent writers")


def table() -> Table:
    """SlackTable, as the function's settings name it (the client is created once per container)."""
    return Table(get_settings().table_name, aws.client("dynamodb"))
