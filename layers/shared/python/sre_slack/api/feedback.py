"""`GET /investigations/{id}/feedback` (portal, JWT): the ratings and comments of one investigation."""

from __future__ import annotations

import re

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.contracts.investigation import SAFE_ID_PATTERN
from sre_slack.services.feedback_report import feedback_report

router = Router()
_SAFE_ID = re.compile(SAFE_ID_PATTERN)


@router.get("/investigations/<investigation_id>/feedback")
def get_feedback(investigation_id: str) -> Response:
    tenant = tenant_id(router.current_event)
    if not _SAFE_ID.fullmatch(investigation_id):
        raise ApiError(400, "invalid_investigation_id", "the investigation id has characters ids never contain")
    return json_response(200, feedback_report(tenant, investigation_id), headers={"Cache-Control": "no-store"})
