"""`POST /clusters/{cluster}/test` (portal, JWT): Test Integration (sre_slack.services.integration_check).

Body (optional): `{"workspace": "...", "severity": "critical" | "warning" | "info"}` (contracts.http_api).
Answers: 202 `{"investigation_id", "channels", "severity"}`; 400 `invalid_cluster` (not a name a route could
name) or `invalid_body`; 409 `{"error", "message", ...}` with one of `not_installed`, `installation_inactive`,
`no_routing`, `no_channel_for_cluster`, `channel_not_found`, `channel_archived`, `bot_not_in_channel`,
`missing_scope`; 503 when Slack is rate limiting or unavailable, or the investigation queue refuses the sample
(`queue_unavailable`).
"""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import TypeAdapter, ValidationError

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.contracts.http_api import IntegrationCheckAccepted, IntegrationCheckRequest
from sre_slack.contracts.routing import MAX_NAME_LENGTH, RouteName
from sre_slack.services.integration_check import CheckFailed, QueueUnavailable, run_check

router = Router()

# A cluster name is tested exactly as a route would name it (contracts.routing.RouteName).
_CLUSTER: TypeAdapter[str] = TypeAdapter(RouteName)


@router.post("/clusters/<cluster>/test")
def start_integration_check(cluster: str) -> Response:
    tenant = tenant_id(router.current_event)
    cluster = _cluster_name(unquote(cluster))
    request = _request(router.current_event.decoded_body)
    try:
        started = run_check(tenant, cluster, request.workspace, request.severity)
    except CheckFailed as exc:
        raise ApiError(409, exc.code, exc.message, extra=exc.extra) from exc
    except QueueUnavailable as exc:
        raise ApiError(503, "queue_unavailable", "the test could not be started; try again shortly",
                       headers={"Retry-After": "5"}) from exc
    answer = IntegrationCheckAccepted(investigation_id=started.investigation_id, channels=list(started.channels),
                                      severity=started.severity)
    return json_response(202, answer.model_dump(mode="json"))


def _cluster_name(cluster: str) -> str:
    try:
        return _CLUSTER.validate_python(cluster)
    except ValidationError as exc:
        raise ApiError(400, "invalid_cluster", f"the cluster name must be 1-{MAX_NAME_LENGTH} characters without "
                       "whitespace at either end, as a route names it") from exc


def _request(body: str | None) -> IntegrationCheckRequest:
    """The optional JSON body; no body (or an empty one) tests with the defaults."""
    if not body or not body.strip():
        return IntegrationCheckRequest()
    try:
        return IntegrationCheckRequest.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(400, "invalid_body", _problems(exc)) from exc


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{field}: {_MESSAGES.get(error['type'], error['msg'])}")
    return "invalid request body: " + "; ".join(problems)


_MESSAGES = {
    "json_invalid": "not valid JSON",
    "model_type": "must be a JSON object",
    "extra_forbidden": "unknown field (allowed: workspace, severity)",
}
