"""The living message keeps its ratings: a feedback click, then a re-investigation and a resolve, each
re-rendering the posted message from storage."""

from __future__ import annotations

import json
import time

from tests.posting import deliver, example, setup_tenant
from tests.support import call_http, form_body, signed_headers


def _click(functions, slack, channel: str, ts: str, action_id: str, user: str) -> None:
    message = slack.message(channel, ts)
    button = next(e for b in message.blocks if b.get("block_id") == "feedback" for e in b["elements"]
                  if e["action_id"] == action_id)
    payload = {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": "T0LOCAL"},
        "team": {"id": "T0LOCAL", "domain": "local"}, "channel": {"id": channel, "name": "alerts"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "message": {"ts": ts, "text": message.text, "blocks": message.blocks},
        "actions": [{"action_id": action_id, "block_id": "feedback", "value": button["value"], "type": "button",
                     "action_ts": "1.2"}],
        "response_url": slack.response_url_for(channel, ts), "trigger_id": slack.issue_trigger(),
    }
    body = form_body(payload)
    answer = call_http(functions, "POST", "/slack/interactions", body=body,
                       headers=signed_headers(body, slack.signing_secret))
    assert answer.status == 200, answer.body


def _summary_line(slack, channel: str, ts: str) -> str:
    blocks = slack.message(channel, ts).blocks
    return next(b["elements"][0]["text"] for b in blocks if b.get("block_id") == "feedback_summary")


def test_ratings_survive_reinvestigation_and_resolve(aws, functions, slack):
    setup_tenant(functions, slack)
    investigation = example()
    deliver(aws, investigation)
    [posted] = slack.messages()
    channel, ts = posted.channel, posted.ts

    _click(functions, slack, channel, ts, "feedback_accurate", "U0ALICE")
    assert "Rated *Accurate* by <@U0ALICE>" in _summary_line(slack, channel, ts)

    updated = example(root_cause="Memory limit too low after rollout 2.14 (re-investigated).")
    deliver(aws, updated)
    message = slack.message(channel, ts)
    assert "re-investigated" in json.dumps(message.blocks)
    assert "Rated *Accurate* by <@U0ALICE>" in _summary_line(slack, channel, ts)
    # The rating judged the analysis before the revision: it stays, marked, on the message and in the report.
    assert _summary_line(slack, channel, ts).endswith("(before revision)")
    report = call_http(functions, "GET", f"/investigations/{investigation['investigation_id']}/feedback",
                       tenant=investigation["tenant_id"], function="PortalApiFunction")
    assert [r["before_revision"] for r in report.json["ratings"]] == [True]

    resolved = {"version": "1", "type": "alert.resolved", "investigation_id": investigation["investigation_id"],
                "tenant_id": investigation["tenant_id"], "resolved_at": "2026-11-27T09:30:00Z"}
    deliver(aws, resolved)
    message = slack.message(channel, ts)
    assert message.blocks[0]["text"]["text"].startswith("✅")
    assert "Rated *Accurate* by <@U0ALICE>" in _summary_line(slack, channel, ts)
    assert len(slack.top_level(channel)) == 1


def test_a_click_after_a_revision_keeps_the_earlier_ratings_marked(aws, functions, slack):
    setup_tenant(functions, slack)
    investigation = example()
    deliver(aws, investigation)
    [posted] = slack.messages()
    channel, ts = posted.channel, posted.ts
    _click(functions, slack, channel, ts, "feedback_accurate", "U0ALICE")
    deliver(aws, example(root_cause="Memory limit too low after rollout 2.14 (re-investigated)."))
    assert _summary_line(slack, channel, ts).endswith("(before revision)")

    time.sleep(1.05 - time.time() % 1)  # times are whole seconds: a rating in the revision's second counts before it
    _click(functions, slack, channel, ts, "feedback_needs_improvement", "U0BOB")
    line = _summary_line(slack, channel, ts)
    assert "by <@U0BOB>" in line and line.endswith("(1 before revision)"), line
    report = call_http(functions, "GET", f"/investigations/{investigation['investigation_id']}/feedback",
                       tenant=investigation["tenant_id"], function="PortalApiFunction")
    assert {r["user_id"]: r["before_revision"] for r in report.json["ratings"]} == {"U0ALICE": True, "U0BOB": False}
