"""What the portal reads back of an investigation's feedback (`GET /investigations/{id}/feedback`).

Tenant-scoped by construction: the tenant comes from the JWT and is part of every key read, so one tenant can
never see another's ratings, whatever id it asks for.

Each rating carries what was said with it (`reason`, `comment`) and, under `previous`, the last reason and
comment said with an earlier rating of the same rater (`{"rating", "label", "reason", "reason_label",
"comment", "commented_at"}`), or null when there is none: after a change of rating, the words said with the
old one stay visible as history instead of seeming to explain the new one (docs/feedback-and-events.md).
`before_revision` is true for a rating given before the investigation's last re-investigation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sre_slack.blocks.modal import REASONS
from sre_slack.domain.ratings import RATING_LABELS, RATINGS, given_before_revision
from sre_slack.storage.investigations import revised_at
from sre_slack.storage.ratings import Rating, list_ratings


def _iso(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _previous(rating: Rating) -> dict[str, Any] | None:
    if rating.previous_reason is None and rating.previous_comment is None:
        return None
    said_with = rating.previous_comment_rating
    return {
        "rating": said_with,
        "label": RATING_LABELS.get(said_with, said_with) if said_with else None,
        "reason": rating.previous_reason,
        "reason_label": REASONS.get(rating.previous_reason) if rating.previous_reason else None,
        "comment": rating.previous_comment,
        "commented_at": _iso(rating.previous_commented_at),
    }


def feedback_report(tenant_id: str, investigation_id: str) -> dict[str, Any]:
    ratings = list_ratings(tenant_id, investigation_id)
    # A rating given before the last re-investigation judged the analysis shown then: it stays, marked.
    revised = revised_at(tenant_id, investigation_id) if ratings else None
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
                "previous": _previous(r),
                "before_revision": given_before_revision(r, revised),
            }
            for r in ratings
        ],
    }
