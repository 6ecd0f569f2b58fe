"""What the portal reads back of an investigation's feedback (`GET /investigations/{id}/feedback`).

Tenant-scoped by construction: the tenant comes from the JWT and is part of every key read, so one tenant can
never see another's ratings, whatever id it asks for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sre_slack.blocks.modal import REASONS
from sre_slack.domain.ratings import RATING_LABELS, RATINGS
from sre_slack.storage.ratings import list_ratings


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def feedback_report(tenant_id: str, investigation_id: str) -> dict[str, Any]:
    ratings = list_ratings(tenant_id, investigation_id)
    return {
        "investigation_id": investigation_id,
        "total": len(ratings),
        "counts": {rating: sum(1 for r in ratings if r.rating == rating) for rating in RATINGS},
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
