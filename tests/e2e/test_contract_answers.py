"""The routes answer what the published OpenAPI document (docs/contract/openapi.json) says they answer.

Each answer of the real handlers is checked against the schema the document gives for its route and status: a
body the document does not describe, a status it does not list, or a missing header fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sre_slack.storage.ratings import add_comment, record_rating
from tests.posting import TENANT, deliver, example, setup_tenant
from tests.support import HttpResult, call_http, form_body, signed_headers

OPENAPI: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "contract" / "openapi.json").read_text(encoding="utf-8"))


def conforms(method: str, route: str, answer: HttpResult) -> None:
    """`answer` is one of the answers the document lists for `method route`, with its body and headers."""
    responses = OPENAPI["paths"][route][method.lower()]["responses"]
    assert str(answer.status) in responses, f"{method} {route} answered {answer.status}, not in {sorted(responses)}"
    documented = responses[str(answer.status)]
    for header in documented.get("headers", {}):
        if header not in ("Set-Cookie", "Last-Modified"):  # cookies travel apart; Last-Modified only once stored
            assert header.lower() in {name.lower() for name in answer.headers}, f"{header} missing"
    if not answer.body:
        assert "content" not in documented or "empty body" in documented["description"], \
            f"{method} {route} {answer.status}: an empty body where the document describes one"
        return
    assert "content" in documented, f"{method} {route} {answer.status}: an undocumented body {answer.body}"
    schema = documented["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": OPENAPI["components"]})
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
                for e in validator.iter_errors(answer.json)]
    assert problems == [], f"{method} {route} {answer.status}: {problems}"


TEST = "/clusters/{cluster}/test"


def test_the_portal_routes_answer_as_documented(functions, slack, aws):
    conforms("GET", "/slack/installation", call_http(functions, "GET", "/slack/installation"))
    conforms("GET", "/slack/channels", call_http(functions, "GET", "/slack/channels"))  # 409 not installed
    conforms("POST", TEST, call_http(functions, "POST", "/clusters/production-us-east/test"))
    conforms("GET", "/routing", call_http(functions, "GET", "/routing"))

    setup_tenant(functions, slack, {"C0PROD": {}, "C0PRIV": {"is_private": True}})
    conforms("GET", "/slack/installation", call_http(functions, "GET", "/slack/installation"))
    conforms("GET", "/slack/channels", call_http(functions, "GET", "/slack/channels", query={"refresh": "true"}))
    conforms("GET", "/routing", call_http(functions, "GET", "/routing"))

    document = {"default_channels": ["C0PROD"], "routes": [{"cluster": "production-us-east",
                                                            "channels": ["C0PROD"], "severities": ["critical"]}]}
    conforms("PUT", "/routing", call_http(functions, "PUT", "/routing", body=json.dumps(document)))
    for refused in ({"routes": [{"channels": ["#alerts"]}]}, {"default_channels": ["C0NOWHERE"]}, "{not json"):
        body = refused if isinstance(refused, str) else json.dumps(refused)
        answer = call_http(functions, "PUT", "/routing", body=body)
        assert answer.status == 400
        conforms("PUT", "/routing", answer)

    accepted = call_http(functions, "POST", "/clusters/production-us-east/test")
    assert accepted.status == 202
    conforms("POST", TEST, accepted)
    for cluster, body in (("%20x", None), ("production-us-east", '{"severity": "major"}'),
                          ("staging", '{"severity": "critical"}')):
        conforms("POST", TEST, call_http(functions, "POST", f"/clusters/{cluster}/test", body=body))

    slack.fail_next("conversations.list", retry_after=3)
    limited = call_http(functions, "GET", "/slack/channels", query={"refresh": "1"})
    assert limited.status == 503
    conforms("GET", "/slack/channels", limited)

    conforms("POST", "/slack/install", call_http(functions, "POST", "/slack/install"))
    conforms("GET", "/slack/installation", call_http(functions, "GET", "/slack/installation", tenant=None,
                                                     claims={"sub": "no-tenant"}))
    conforms("DELETE", "/slack/installation", call_http(functions, "DELETE", "/slack/installation"))
    conforms("GET", "/slack/installation", call_http(functions, "GET", "/slack/installation"))


def test_the_feedback_report_answers_as_documented(functions, slack, aws):
    setup_tenant(functions, slack, {"C0PROD": {}})
    deliver(aws, example())
    investigation = example()["investigation_id"]
    record_rating(TENANT, investigation, user_id="U0BOB", rating="needs_improvement", team_id="T0LOCAL",
                  user_name="bob", channel_id="C0PROD")
    add_comment(TENANT, investigation, "U0BOB", reason="wrong_commands", comment="use --to-revision=3")
    record_rating(TENANT, investigation, user_id="U0BOB", rating="accurate", team_id="T0LOCAL")
    record_rating(TENANT, investigation, user_id="U0ALICE", rating="accurate", team_id="T0LOCAL")
    route = "/investigations/{id}/feedback"
    report = call_http(functions, "GET", f"/investigations/{investigation}/feedback")
    assert report.json["total"] == 2 and any(r["previous"] for r in report.json["ratings"])
    conforms("GET", route, report)
    conforms("GET", route, call_http(functions, "GET", "/investigations/inv%3Cx%3E/feedback"))


def test_the_browser_routes_answer_as_documented(functions, slack, aws):
    conforms("GET", "/slack/oauth/start", call_http(functions, "GET", "/slack/oauth/start"))
    conforms("GET", "/slack/oauth/start", call_http(functions, "GET", "/slack/oauth/start", query={"state": "x"}))
    conforms("GET", "/slack/oauth/callback", call_http(functions, "GET", "/slack/oauth/callback",
                                                       query={"state": "x", "code": "y"}))


@pytest.mark.parametrize("signed", [True, False])
def test_the_slack_routes_answer_as_documented(functions, slack, aws, signed):
    def post(path: str, body: str, content_type: str) -> HttpResult:
        headers = (signed_headers(body, slack.signing_secret, content_type=content_type) if signed
                   else {"Content-Type": content_type})
        return call_http(functions, "POST", path, body=body, headers=headers)

    for body in ({"type": "url_verification", "challenge": "c0ffee"},
                 {"type": "event_callback", "team_id": "T0NONE", "event_id": "Ev1",
                  "event": {"type": "app_uninstalled"}},
                 {"nothing": "useful"}):
        conforms("POST", "/slack/events", post("/slack/events", json.dumps(body), "application/json"))
    for payload in ({"type": "block_actions", "team": {"id": "T0NONE"}, "user": {"id": "U0BOB"}, "actions": []},
                    {"type": "something_else"}):
        conforms("POST", "/slack/interactions", post("/slack/interactions", form_body(payload),
                                                     "application/x-www-form-urlencoded"))
