"""`POST /slack/interactions` (button clicks, modals; signed by Slack, no JWT): the HTTP answer Slack expects.

200 with an empty body (a submitted modal then closes), the modal's `response_action` errors, 400 for a payload
Slack would never send; never a 500 (Slack would only show "app did not respond"). The work is
sre_slack.services.interactions; the signature was checked before (sre_slack.slack.signing). No HTTP router here:
one route needs none, and Powertools' event handler costs ~60 ms of each cold start of a function that must answer
Slack within 3 s (bench/cold_start.py).
"""

from __future__ import annotations

from typing import Any

from sre_slack.observability import get_logger
from sre_slack.services.interactions import InteractionAnswer, handle_interaction
from sre_slack.slack.signing import SlackRequest, json_answer


def answer_interaction(request: SlackRequest) -> dict[str, Any]:
    try:
        answer = handle_interaction(request)
    except Exception:  # Slack gets an answer it can show, never a 500
        get_logger().exception("interaction failed")
        answer = InteractionAnswer(200)
    return json_answer(answer.status, answer.body)
