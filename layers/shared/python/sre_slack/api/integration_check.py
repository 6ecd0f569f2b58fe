"""`POST /clusters/{cluster}/test` (portal, JWT): Test Integration (sre_slack.services.integration_check).

Answers: 202 `{"investigation_id", "channels"}`; 409 `{"error", "message", ...}` with one of `not_installed`,
`installation_inactive`, `no_routing`, `no_channel_for_cluster`, `channel_not_found`, `channel_archived`,
`bot_not_in_channel`, `missing_scope`; 503 when Slack is rate limiting or unavailable, or the investigation queue
refuses the sample (`queue_unavailable`).
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.services.integration_check import CheckFailed, QueueUnavailable, run_check

router = Router()

MAX_CLUSTER_LENGTH = 255


@router.post("/clusters/<cluster>/test")
def start_integration_check(cluster: str) -> Response:
    tenant = tenant_id(router.current_event)
    cluster = unquote(cluster).strip()
    if not cluster or len(cluster) > MAX_CLUSTER_LENGTH:
        raise ApiError(400, "invalid_cluster", "the cluster name must be 1-255 characters")
    workspace = _workspace(router.current_event.decoded_body)
    try:
        investigation_id, channels = run_check(tenant, cluster, workspace)
    except CheckFailed as exc:
        raise ApiError(409, exc.code, exc.message, extra=exc.extra) from exc
    except QueueUnavailable as exc:
        raise ApiError(503, "queue_unavailable", "the test could not be started; try again shortly",
                       headers={"Retry-After": "5"}) from exc
    return json_response(202, {"investigation_id": investigation_id, "channels": list(channels)})


def _workspace(body: str | None) -> str | None:
    """Optional `{"workspace": "..."}`: lets a workspace route be tested too. No body is fine."""
    if not body or not body.strip():
        return None
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "invalid_body", "the request body is not valid JSON") from exc
    workspace = document.get("workspace") if isinstance(document, dict) else None
    if workspace is not None and (not isinstance(workspace, str) or not workspace.strip()):
        raise ApiError(400, "invalid_body", "workspace must be a non-empty string")
    return workspace
