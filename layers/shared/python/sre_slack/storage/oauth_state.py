"""OAuth `state` values: random, single use, ten minutes, tied to a tenant and to one browser.

Follows slack_sdk's `OAuthStateStore` interface (`issue` / `consume`) with the tenant binding our flow needs:
the state is issued for the tenant whose admin pressed Install, bound once to the browser that opens our
start endpoint (a cookie on the callback's domain), and consumed atomically by the callback.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from slack_sdk.oauth.state_store import OAuthStateStore

from sre_slack.observability import get_logger
from sre_slack.storage import keys
from sre_slack.storage.table import ConditionFailed, Expression, table

STATE_TTL_SECONDS = 600


@dataclass(frozen=True)
class StateRecord:
    state: str
    tenant_id: str
    issued_at: int
    expires_at: int
    browser_bound: bool


class StateError(Exception):
    """The state cannot be used; `reason` is the code shown to the user (status=error&reason=...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DynamoDBOAuthStateStore(OAuthStateStore):
    def __init__(self, *, expiration_seconds: int = STATE_TTL_SECONDS) -> None:
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> Logger:  # slack_sdk's OAuthStateStore interface asks for one
        return get_logger()

    def issue(self, *args: object, tenant_id: str = "", **kwargs: object) -> str:
        if not tenant_id:
            raise ValueError("a state must be issued for a tenant")
        state = secrets.token_urlsafe(32)
        now = int(time.time())
        # DynamoDB TTL may lag by days: expiry is enforced by expires_at, TTL only cleans up.
        table().put({**keys.oauth_state_key(state), "tenant_id": tenant_id, "issued_at": now,
                     "expires_at": now + self.expiration_seconds, "ttl": now + self.expiration_seconds + 3600},
                    condition="attribute_not_exists(pk)")
        return state

    def bind_browser(self, state: str) -> StateRecord:
        """Mark the state as opened by a browser. Only the first browser may open it, so a link forwarded
        to someone else after the admin opened it is useless to them."""
        expr = Expression()
        condition = expr.condition("attribute_exists(pk) AND {expires} > {:now} AND attribute_not_exists({bound})",
                                   expires="expires_at", now=int(time.time()), bound="browser_bound")
        try:
            values = table().update(keys.oauth_state_key(state), set_={"browser_bound": True}, condition=condition,
                                    expr=expr, return_new=True)
        except ConditionFailed as exc:
            if not exc.item:
                raise StateError("invalid_state") from exc
            if exc.item.get("browser_bound"):
                raise StateError("state_already_used") from exc
            raise StateError("expired_state") from exc
        assert values is not None
        return _record(state, values)

    def consume(self, state: str) -> bool:
        try:
            self.consume_record(state)
        except StateError:
            return False
        return True

    def consume_record(self, state: str) -> StateRecord:
        """Delete the state and return it, atomically: of two concurrent callbacks only one succeeds."""
        try:
            values = table().delete(keys.oauth_state_key(state), condition="attribute_exists(pk)", return_old=True)
        except ConditionFailed as exc:
            raise StateError("invalid_state") from exc
        assert values is not None
        record = _record(state, values)
        if record.expires_at <= int(time.time()):
            raise StateError("expired_state")
        if not record.browser_bound:
            raise StateError("browser_mismatch")
        return record


def _record(state: str, values: dict[str, Any]) -> StateRecord:
    return StateRecord(state=state, tenant_id=values["tenant_id"], issued_at=int(values["issued_at"]),
                       expires_at=int(values["expires_at"]), browser_bound=bool(values.get("browser_bound")))
