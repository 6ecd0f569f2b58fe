"""`GET /slack/installation` and `DELETE /slack/installation` (portal, JWT): sre_slack.services.installation."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import json_response, tenant_id
from sre_slack.services.slack_connection import disconnect, installation_status

router = Router()


@router.get("/slack/installation")
def get_installation_status() -> Response:
    return json_response(200, installation_status(tenant_id(router.current_event)))


@router.delete("/slack/installation")
def delete_installation() -> Response:
    disconnect(tenant_id(router.current_event))
    return Response(status_code=204)
