"""Routes for feedback (portal, JWT): `GET /investigations/{id}/feedback`.

Tenant-scoped by construction: the tenant comes from the JWT and is part of every key read, so one tenant
can never see another's ratings, whatever id it asks for.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from sre_slack.api.resolver import ApiError, json_response, tenant_id
from sre_slack.blocks.feedback_line import RATING_LABELS, RATINGS
from sre_slack.contracts.investigation import SAFE_ID_PATTERN

router = Router()
_SAFE_ID = re.compile(SAFE_ID_PATTERN)


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@router.get("/investigations/<investigation_id>/feedback")
def get_feedback(investigation_id: str) -> Response:
    from sre_slack.blocks.modal import REASONS
    from sre_slack.storage.ratings import list_ratings

    tenant = tenant_id(router.current_event)
    if not _SAFE_ID.match(investigation_id):
        raise ApiError(400, "invalid_investigation_id", "the investigation id has characters ids never contain")
    ratings = list_ratings(tenant, investigation_id)
    counts = {rating: sum(1 for r in ratings if r.rating == rating) for rating in RATINGS}
    body: dict[str, Any] = {
        "investigation_id": investigation_id,
        "total": len(ratings),
        "counts": counts,
        "ratings": [
            {
                "user_id": r.user_id,
                "user_name": r.user_name,
                "rating": r.rating,
                "label": RATING_LABELS.get(r.rating, r.rating),
                "team_id": r.team_id,
                "channel_id": r.channel_id,
                "rated_at": _iso(r.rated_at),
                "first_rated_at": _iso(r.first_rated_at),
                "changes": r.changes,
                "reason": r.reason,
                "reason_label": REASONS.get(r.reason) if r.reason else None,
                "comment": r.comment,
                "commented_at": _iso(r.commented_at),
            }
            for r in ratings
        ],
    }
    return json_response(200, body, headers={"Cache-Control": "no-store"})
