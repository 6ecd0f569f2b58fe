"""What Slack receives, byte for byte in meaning: the JSON of every message we build, against a recording.

`wire_format.json` holds the chat.postMessage kwargs (and the modal's views.open `view`) that the code
produced for the example events in events/*.json and a few digests, recorded before the blocks package was
rebuilt on slack_sdk's Block Kit classes. A difference here is a change a Slack reader would see (or Slack
could refuse); when it is intended, record again with `UPDATE_WIRE_FORMAT=1` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sre_slack.blocks.digest import build_digest_message
from sre_slack.blocks.feedback_line import FeedbackSummary, with_feedback_line
from sre_slack.blocks.investigation import build_investigation_message
from sre_slack.blocks.investigation_actions import Acknowledged, with_acknowledged_line
from sre_slack.blocks.modal import build_view
from sre_slack.contracts.buttons import ModalContext
from sre_slack.contracts.investigation import InvestigationCompleted, parse_investigation_message
from sre_slack.domain.digest_stats import build_digest
from tests.digest_examples import REPORT_DAY, busy_day, counts

EVENTS = Path(__file__).resolve().parents[2] / "events"
RECORDING = Path(__file__).with_name("wire_format.json")
RESOLVED_AT = datetime(2026, 11, 27, 8, 47, 30, tzinfo=UTC)
RATED = FeedbackSummary({"accurate": 2, "needs_improvement": 1}, "U0ALICE", "accurate")
ACKNOWLEDGED = Acknowledged("U0BOB", datetime(2026, 11, 27, 8, 14, 5, tzinfo=UTC))


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def _huge(document: dict[str, Any]) -> dict[str, Any]:
    """Every list and text far over what fits: the budget decides what is shown."""
    document["alert"]["summary"] = "Summary & <detail> " * 3000
    document["alert"]["labels"] = {f"label-{i}": f"{'v' * 200} & <{i}>" for i in range(100)}
    document["root_cause"] = ("Root cause sentence with & and <tags> and 🔥. " * 1200)[:50_000]
    document["affected_resources"] = [
        {"kind": "Pod", "namespace": "payments", "name": f"api-{i}", "status": "CrashLoopBackOff"} for i in range(60)
    ]
    document["recommended_actions"] = [
        {"title": f"Step {i}", "command": f"kubectl -n x delete pod p{i} " + "a&<>`" * 200} for i in range(40)
    ]
    return document


def _investigation(event: str, change: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Any:
    document = _event(event)
    if change is not None:
        document = change(document)
    inv = parse_investigation_message(json.dumps(document))
    assert isinstance(inv, InvestigationCompleted)
    return inv


def _as_test(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "test": True}


def _without_portal(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "portal_url"}


def _with_hidden_characters(document: dict[str, Any]) -> dict[str, Any]:
    """The rollback step with a right-to-left override and a zero-width space in its title and command."""
    actions = [dict(action) for action in document["recommended_actions"]]
    actions[1] = {"title": "Roll back \u202eRTL", "command": "kubectl rollout\u200b undo deployment/api -n payments"}
    return {**document, "recommended_actions": actions}


def _hostile_digest() -> Any:
    long = "x<&>" * 75
    today = counts(0, total=100_000, by_severity={"critical": 40_000, "warning": 60_000},
                    by_namespace={f"{long}{i}": i + 1 for i in range(50)},
                    by_alert={f"{long}{i}": i % 9 for i in range(200)},
                    by_cluster={f"{long}{i}": i + 1 for i in range(30)})
    yesterday = counts(1, total=90_000, by_namespace={f"{long}{i}": 3 for i in range(25, 75)},
                        by_alert={f"{long}{i}": i % 7 + 1 for i in range(100, 300)})
    return build_digest(REPORT_DAY, [today, yesterday, counts(7, total=5)])


def _investigation_case(event: str, change: Any = None, **kwargs: Any) -> Callable[[], dict[str, Any]]:
    return lambda: build_investigation_message(_investigation(event, change), tenant_id="t_acme", **kwargs).as_kwargs()


def _rated_after_click() -> dict[str, Any]:
    posted = build_investigation_message(_investigation("investigation_completed.json"), tenant_id="t_acme")
    return {"blocks": with_feedback_line(posted.as_kwargs()["blocks"], RATED)}


def _acknowledged_after_click() -> dict[str, Any]:
    posted = build_investigation_message(_investigation("investigation_completed.json"), tenant_id="t_acme")
    return {"blocks": with_acknowledged_line(posted.as_kwargs()["blocks"], ACKNOWLEDGED)}


def _view() -> dict[str, Any]:
    context = ModalContext(
        tenant_id="t_acme", investigation_id="inv_01JD4X8Y2Z", channel_id="C0ALERTS", message_ts="1795767120.000100"
    )
    view: Any = build_view(context)
    return view if isinstance(view, dict) else view.to_dict()


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "completed": _investigation_case("investigation_completed.json"),
    "completed_resolved": _investigation_case("investigation_completed.json", resolved_at=RESOLVED_AT),
    "completed_rated": _investigation_case("investigation_completed.json", feedback=RATED),
    "completed_test": _investigation_case("investigation_completed.json", _as_test),
    "completed_test_resolved_rated": _investigation_case(
        "investigation_completed.json", _as_test, resolved_at=RESOLVED_AT, feedback=RATED
    ),
    "completed_without_portal": _investigation_case("investigation_completed.json", _without_portal),
    "completed_huge": _investigation_case("investigation_completed.json", _huge, feedback=RATED),
    "completed_resent": _investigation_case("investigation_completed.json", resent=True),
    "completed_hidden_characters": _investigation_case("investigation_completed.json", _with_hidden_characters),
    "hostile": _investigation_case("investigation_hostile.json"),
    "hostile_resolved_rated": _investigation_case(
        "investigation_hostile.json", resolved_at=RESOLVED_AT, feedback=RATED
    ),
    "completed_rated_after_click": _rated_after_click,
    "completed_acknowledged": _investigation_case(
        "investigation_completed.json", resolved_at=RESOLVED_AT, feedback=RATED, acknowledged=ACKNOWLEDGED
    ),
    "completed_acknowledged_after_click": _acknowledged_after_click,
    "digest_busy": lambda: build_digest_message(
        busy_day(), tenant_name="Acme", portal_url="https://portal.example.com/d"
    ).as_kwargs(),
    "digest_quiet": lambda: build_digest_message(build_digest(REPORT_DAY, [])).as_kwargs(),
    "digest_hostile": lambda: build_digest_message(
        _hostile_digest(), tenant_name="<!channel> & co", portal_url="https://portal.example.com/d?a=1&b=2"
    ).as_kwargs(),
    "needs_improvement_modal": _view,
}


# The recording's key order (the comparison ignores it): kept when recording again, so the diff shows changes only.
_KEY_ORDER = (
    "type", "block_id", "action_id", "callback_id", "private_metadata", "notify_on_close", "title", "submit",
    "close", "optional", "label", "element", "multiline", "max_length", "placeholder", "options", "text",
    "emoji", "url", "value", "style", "confirm", "deny", "fields", "elements", "blocks",
)  # fmt: skip


def _in_recorded_order(node: Any) -> Any:
    if isinstance(node, dict):
        rank = {key: index for index, key in enumerate(_KEY_ORDER)}
        ordered = sorted(node, key=lambda key: rank.get(key, len(rank)))
        return {key: _in_recorded_order(node[key]) for key in ordered}
    if isinstance(node, list | tuple):
        return [_in_recorded_order(value) for value in node]
    return node


def _recorded() -> dict[str, Any]:
    if os.environ.get("UPDATE_WIRE_FORMAT"):
        cases = {name: _in_recorded_order(json.loads(json.dumps(render()))) for name, render in CASES.items()}
        RECORDING.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
    return json.loads(RECORDING.read_text())


@pytest.mark.parametrize("name", list(CASES))
def test_slack_receives_the_recorded_json(name: str) -> None:
    # Through json, as the Web API client sends it: tuples become lists, key order does not matter.
    assert json.loads(json.dumps(CASES[name]())) == _recorded()[name]


def test_the_recording_covers_every_case() -> None:
    assert set(_recorded()) == set(CASES)
