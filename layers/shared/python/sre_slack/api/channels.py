"""`GET /slack/channels`: the channels the portal's picker offers (portal, JWT).

Also home of the two rules every portal route that talks to Slack follows (routing uses them too):
- `active_token`: no active installation is a 409 `not_installed`, never a Slack call with a dead token;
- `slack_failure_error`: how a Slack failure becomes an answer. A 429 is a 503 `slack_rate_limited` with
  Slack's `Retry-After` (never slept out in the function); an installation-level refusal (`invalid_auth`,
  `token_revoked`, ...) marks the installation so posting stops too, and answers 409 `not_installed`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.observability import get_logger
from sre_slack.slack import directory as channel_directory
from sre_slack.slack.errors import FailureClass, SlackFailure
from sre_slack.storage.installations import Installation, InstallationStatus, mark_installation, mark_refused_by_slack
from sre_slack.storage.tenant_config import load_tenant_config

router = Router()

_TRUE = frozenset({"1", "true", "yes"})


def not_installed(reason: str | None = None) -> ApiError:
    message = "Slack is not connected for this account: install the Slack app first"
    if reason:
        message = f"the Slack installation is no longer usable ({reason}): reinstall the Slack app"
    return ApiError(409, "not_installed", message, extra={"reason": reason} if reason else None)


def active_token(installation: Installation | None) -> str:
    """The bot token of an active installation, or the ApiError to answer instead."""
    from sre_slack.slack.tokens import TokenUnavailable, bot_token

    if installation is None:
        raise not_installed()
    if not installation.is_active:
        raise not_installed(installation.status_reason or str(installation.status))
    try:
        return bot_token(installation)
    except TokenUnavailable as exc:
        if not exc.permanent:
            raise ApiError(503, "slack_unavailable", "could not refresh the Slack token; try again shortly") from exc
        mark_installation(installation.tenant_id, InstallationStatus.INACTIVE, exc.reason, drop_tokens=False)
        channel_directory.forget(installation.tenant_id)
        raise not_installed(exc.reason) from exc


def slack_failure_error(installation: Installation, failure: SlackFailure) -> ApiError:
    """The answer for a failed Slack call made on behalf of the portal (and the bookkeeping it implies)."""
    logger = get_logger()
    if failure.failure_class == FailureClass.RATE_LIMITED:
        retry_after = failure.retry_after or 30
        logger.info("Slack rate limit reached", tenant_id=installation.tenant_id, retry_after=retry_after)
        return ApiError(503, "slack_rate_limited",
                        f"Slack is rate limiting this workspace's requests; try again in {retry_after} s",
                        headers={"Retry-After": str(retry_after)}, extra={"retry_after": retry_after})
    if failure.failure_class == FailureClass.INSTALLATION:
        if failure.error == "missing_scope":
            # Posting may still work; only a reinstall grants the scope, so the installation is left as it is.
            return ApiError(409, "missing_scope", "the Slack app lacks a permission this needs "
                            "(channels:read or groups:read): reinstall the Slack app to grant it")
        status = mark_refused_by_slack(installation.tenant_id, failure.error)
        channel_directory.forget(installation.tenant_id)
        logger.warning("Slack refused the installation's token", tenant_id=installation.tenant_id,
                       error=failure.error, status=str(status))
        return not_installed(failure.error)
    logger.warning("Slack call failed", tenant_id=installation.tenant_id, failure=failure.describe())
    return ApiError(503, "slack_unavailable", "Slack did not answer as expected; try again shortly",
                    extra={"slack_error": failure.error})


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


@router.get("/slack/channels")
def list_channels() -> Response:
    event = router.current_event
    tenant = tenant_id(event)
    installation = load_tenant_config(tenant).installation
    token = active_token(installation)
    assert installation is not None
    try:
        listing = channel_directory.list_channels(tenant, installation.team_id, token,
                                                  refresh=_flag(event.get_query_string_value("refresh")))
    except channel_directory.SlackCallFailed as exc:
        raise slack_failure_error(installation, exc.failure) from exc
    body: dict[str, object] = {
        "channels": [channel.to_json() for channel in listing.channels],
        "fetched_at": datetime.fromtimestamp(listing.fetched_at, UTC).isoformat().replace("+00:00", "Z"),
    }
    if not listing.complete:
        body["truncated"] = True
    return json_response(200, body)
