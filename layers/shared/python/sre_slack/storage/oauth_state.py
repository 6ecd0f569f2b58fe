"""OAuth `state` values: random, single use, ten minutes, tied to a tenant and to one browser.

Follows slack_sdk's `OAuthStateStore` interface (`issue` / `consume`) with the tenant binding our flow needs:
the state is issued for the tenant whose admin pressed Install, bound once to the browser that opens our
start endpoint (a cookie on the callback's domain), and consumed atomically by the callback.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from slack_sdk.oauth.state_store import OAuthStateStore

from sre_slack.aws import dynamodb
from sre_slack.contracts.settings import get_settings
from sre_slack.storage import keys
from sre_slack.storage.items import from_item, to_attr, to_item

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
    def logger(self):  # type: ignore[no-untyped-def] - slack_sdk's interface asks for one
        from sre_slack.observability import get_logger

        return get_logger()

    def issue(self, *args: object, tenant_id: str = "", **kwargs: object) -> str:
        if not tenant_id:
            raise ValueError("a state must be issued for a tenant")
        state = secrets.token_urlsafe(32)
        now = int(time.time())
        dynamodb().put_item(
            TableName=get_settings().table_name,
            Item=to_item({**keys.oauth_state_key(state), "tenant_id": tenant_id, "issued_at": now,
                          "expires_at": now + self.expiration_seconds,
                          # DynamoDB TTL may lag by days: expiry is enforced by expires_at, TTL only cleans up.
                          "ttl": now + self.expiration_seconds + 3600}),
            ConditionExpression="attribute_not_exists(pk)",
        )
        return state

    def bind_browser(self, state: str) -> StateRecord:
        """Mark the state as opened by a browser. Only the first browser may open it, so a link forwarded
        to someone else after the admin opened it is useless to them."""
        client = dynamodb()
        try:
            response = client.update_item(
                TableName=get_settings().table_name,
                Key=to_item(keys.oauth_state_key(state)),
                UpdateExpression="SET browser_bound = :t",
                ConditionExpression=(
                    "attribute_exists(pk) AND expires_at > :now AND attribute_not_exists(browser_bound)"
                ),
                ExpressionAttributeValues={":t": to_attr(True), ":now": to_attr(int(time.time()))},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            old = exc.response.get("Item")
            if not old:
                raise StateError("invalid_state") from exc
            if from_item(old).get("browser_bound"):
                raise StateError("state_already_used") from exc
            raise StateError("expired_state") from exc
        return _record(state, response["Attributes"])

    def consume(self, state: str) -> bool:
        try:
            self.consume_record(state)
        except StateError:
            return False
        return True

    def consume_record(self, state: str) -> StateRecord:
        """Delete the state and return it, atomically: of two concurrent callbacks only one succeeds."""
        client = dynamodb()
        try:
            response = client.delete_item(
                TableName=get_settings().table_name,
                Key=to_item(keys.oauth_state_key(state)),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            raise StateError("invalid_state") from exc
        record = _record(state, response["Attributes"])
        if record.expires_at <= int(time.time()):
            raise StateError("expired_state")
        if not record.browser_bound:
            raise StateError("browser_mismatch")
        return record


def _record(state: str, item: dict) -> StateRecord:
    values = from_item(item)
    return StateRecord(state=state, tenant_id=values["tenant_id"], issued_at=int(values["issued_at"]),
                       expires_at=int(values["expires_at"]), browser_bound=bool(values.get("browser_bound")))
