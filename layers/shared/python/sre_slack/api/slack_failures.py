"""How every portal route answers when Slack (or the installation) says no: one mapping, registered on the
resolver as Powertools exception handlers.

- No usable installation: 409 `not_installed` (with the reason it stopped working).
- A 429: 503 `slack_rate_limited` with Slack's `Retry-After` (never slept out in the function).
- A missing scope: 409 `missing_scope` (only a reinstall grants it).
- Anything else: 503 `slack_unavailable` with a short Retry-After.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from sre_slack.api.resolver import error_response
from sre_slack.domain.delivery_policy import FailureClass
from sre_slack.services.workspace import NotInstalled
from sre_slack.slack.errors import SlackCallFailed

UNAVAILABLE_RETRY_AFTER_SECONDS = 5
RATE_LIMITED_DEFAULT_SECONDS = 30


def not_installed_response(exc: NotInstalled) -> Response:
    if exc.reason:
        return error_response(409, "not_installed",
                              f"the Slack installation is no longer usable ({exc.reason}): reinstall the Slack app",
                              extra={"reason": exc.reason})
    return error_response(409, "not_installed", "Slack is not connected for this account: install the Slack app first")


def slack_failed_response(exc: SlackCallFailed) -> Response:
    failure = exc.failure
    if failure.failure_class == FailureClass.RATE_LIMITED:
        retry_after = failure.retry_after or RATE_LIMITED_DEFAULT_SECONDS
        return error_response(503, "slack_rate_limited",
                              f"Slack is rate limiting this workspace's requests; try again in {retry_after} s",
                              headers={"Retry-After": str(retry_after)}, extra={"retry_after": retry_after})
    if failure.failure_class == FailureClass.INSTALLATION and failure.error == "missing_scope":
        return error_response(409, "missing_scope", "the Slack app lacks a permission this needs: reinstall the "
                              "Slack app to grant the current scopes")
    return error_response(503, "slack_unavailable", "Slack did not answer as expected; try again shortly",
                          headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
                          extra={"slack_error": failure.error})


def register(app: APIGatewayHttpResolver) -> None:
    app.exception_handler(NotInstalled)(not_installed_response)
    app.exception_handler(SlackCallFailed)(slack_failed_response)
