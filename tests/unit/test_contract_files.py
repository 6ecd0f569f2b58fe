"""The published contract (docs/contract/) is what the code generates, and its examples are valid against it.

The schemas are regenerated in memory and compared with the committed files; CONTRACT.md's ```json examples and
events/*.json are validated against the schemas (jsonschema) and through the models the functions use.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from localdev.template import Template
from sre_slack.contracts.engine_events import (
    ENGINE_EVENTS,
    SOURCE,
    FeedbackRecorded,
    InvestigationAcknowledged,
    Rating,
    ReinvestigationRequested,
)
from sre_slack.contracts.http_api import Rating as AnswerRating
from sre_slack.contracts.investigation import parse_investigation_message
from sre_slack.contracts.routing import RoutingDocument
from sre_slack.domain.ratings import RATINGS

REPO = Path(__file__).resolve().parents[2]
CONTRACT_DIR = REPO / "docs" / "contract"
CONTRACT = CONTRACT_DIR / "CONTRACT.md"
FIX = "run `make contract` (python docs/contract/generate.py) and commit docs/contract/"


def _load_generator() -> ModuleType:
    # A script beside its output, not a package: loaded from its path.
    spec = importlib.util.spec_from_file_location("contract_generate", CONTRACT_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _load_generator()
EXPECTED: dict[str, str] = GENERATE.rendered(Template.load())


def _schema(path: str) -> dict[str, Any]:
    return json.loads((CONTRACT_DIR / path).read_text(encoding="utf-8"))


def _validator(path: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(path))


def _errors(path: str, document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
            for e in _validator(path).iter_errors(document)]


# ------------------------------------------------------------------------------------------------ generated files


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_each_generated_file_is_current(path: str) -> None:
    target = CONTRACT_DIR / path
    assert target.is_file(), f"docs/contract/{path} is missing: {FIX}"
    assert target.read_text(encoding="utf-8") == EXPECTED[path], f"docs/contract/{path} is stale: {FIX}"


def test_nothing_stale_or_left_over_under_docs_contract() -> None:
    assert GENERATE.stale_files(CONTRACT_DIR, EXPECTED) == [], FIX


def test_generation_is_deterministic() -> None:
    assert GENERATE.rendered(Template.load()) == EXPECTED
    for text in EXPECTED.values():
        assert text.endswith("}\n") and not text.endswith("\n\n")


def test_the_check_mode_names_a_stale_file_and_the_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for path, text in EXPECTED.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    (tmp_path / GENERATE.OPENAPI).write_text("{}\n", encoding="utf-8")
    (tmp_path / GENERATE.SCHEMAS / "old.schema.json").write_text("{}\n", encoding="utf-8")
    assert GENERATE.stale_files(tmp_path, EXPECTED) == [GENERATE.OPENAPI, f"{GENERATE.SCHEMAS}/old.schema.json"]


@pytest.mark.parametrize("path", sorted(p for p in EXPECTED if p.endswith(".schema.json")))
def test_each_schema_is_a_valid_2020_12_schema(path: str) -> None:
    schema = _schema(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["description"]


def test_the_openapi_document_is_valid_openapi_3_1() -> None:
    document = _schema(GENERATE.OPENAPI)
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)


def test_the_openapi_document_has_every_route_of_the_template_and_its_authorizer() -> None:
    paths = _schema(GENERATE.OPENAPI)["paths"]
    documented = {f"{method.upper()} {path}": operation for path, item in paths.items()
                  for method, operation in item.items()}
    routes = {route.route_key: route for route in GENERATE.template_routes(Template.load())}
    assert set(documented) == set(routes)
    for key, route in routes.items():
        expected = [{"PortalJwt": []}] if route.needs_authorizer else []
        assert documented[key]["security"] == expected, key
    # The Slack-facing routes and the browser's are the ones without the JWT (CONTRACT.md "HTTP API").
    public = {key for key, route in routes.items() if not route.needs_authorizer}
    assert public == {"GET /slack/oauth/start", "GET /slack/oauth/callback", "POST /slack/interactions",
                      "POST /slack/events"}


def test_every_error_answer_is_the_contract_error_body() -> None:
    document = _schema(GENERATE.OPENAPI)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                gateway = "JWT authorizer" in answer["description"]  # API Gateway's own 401, not ours
                if status.startswith(("4", "5")) and not gateway:
                    assert "#/components/schemas/ErrorBody" in json.dumps(answer), (method, path, status)
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"error", "message"}


# ------------------------------------------------------------------------------------------------ examples


def _json_examples(markdown: Path) -> list[Any]:
    text = markdown.read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)]


def _schema_for(example: dict[str, Any]) -> str:
    if example.get("type") in ("investigation.completed", "alert.resolved"):
        return f"{GENERATE.SCHEMAS}/sqs/{example['type']}.schema.json"
    if {"default_channels", "routes"} & set(example):
        return f"{GENERATE.SCHEMAS}/routing-document.schema.json"
    raise AssertionError(f"an example of CONTRACT.md no schema is known for: {sorted(example)}")


def test_contract_md_has_the_examples_this_test_knows() -> None:
    kinds = sorted(_schema_for(example) for example in _json_examples(CONTRACT))
    assert kinds == [f"{GENERATE.SCHEMAS}/routing-document.schema.json",
                     f"{GENERATE.SCHEMAS}/sqs/investigation.completed.schema.json"]


@pytest.mark.parametrize("example", _json_examples(CONTRACT), ids=lambda e: e.get("type", "routing"))
def test_every_example_of_contract_md_is_valid(example: dict[str, Any]) -> None:
    path = _schema_for(example)
    assert _errors(path, example) == []
    if path.endswith("routing-document.schema.json"):
        RoutingDocument.model_validate(example)
    else:
        parse_investigation_message(json.dumps(example))


@pytest.mark.parametrize("path", sorted((REPO / "events").glob("*.json")), ids=lambda p: p.name)
def test_every_example_event_file_is_a_valid_queue_message(path: Path) -> None:
    message = json.loads(path.read_text(encoding="utf-8"))
    assert _errors(_schema_for(message), message) == []
    assert parse_investigation_message(path.read_bytes()).type == message["type"]


def test_the_inline_alert_resolved_of_contract_md_is_valid_with_real_values() -> None:
    # CONTRACT.md writes it inline with "..." placeholders; the shape is what is checked.
    inline = re.search(r'`(\{"version": "1", "type": "alert\.resolved".*?\})`', CONTRACT.read_text())
    assert inline is not None
    message = {**json.loads(inline.group(1)), "investigation_id": "inv_1", "tenant_id": "t_acme",
               "resolved_at": "2026-11-27T08:47:30Z"}
    assert _errors(f"{GENERATE.SCHEMAS}/sqs/alert.resolved.schema.json", message) == []


@pytest.mark.parametrize(("path", "message"), [
    ("investigation.completed", {"version": 1}),
    ("investigation.completed", {"version": "1", "type": "investigation.completed", "investigation_id": "inv#1",
                                 "tenant_id": "t", "cluster": "c", "root_cause": "",
                                 "alert": {"name": "A", "severity": "Critical", "summary": "", "fired_at": "x"}}),
    ("alert.resolved", {"version": "1", "type": "alert.resolved", "investigation_id": "inv_1", "tenant_id": "t"}),
])
def test_the_schemas_refuse_what_the_consumer_refuses(path: str, message: dict[str, Any]) -> None:
    assert _errors(f"{GENERATE.SCHEMAS}/sqs/{path}.schema.json", message)
    with pytest.raises(ValueError):
        parse_investigation_message(json.dumps(message))


# ------------------------------------------------------------------------------------------------ outbound events

USER = {"id": "U0ALICE", "name": "alice"}
COMMON = {"event_id": "evt_1", "tenant_id": "t_acme", "investigation_id": "inv_01JD4X8Y2Z",
          "cluster": "production-us-east", "user": USER, "at": datetime(2026, 11, 27, 8, 20, 11, tzinfo=UTC)}


def test_the_event_models_are_the_three_of_the_contract() -> None:
    assert [(model.__name__, model.detail_type) for model in ENGINE_EVENTS] == [
        ("FeedbackRecorded", "feedback.recorded"),
        ("InvestigationAcknowledged", "investigation.acknowledged"),
        ("ReinvestigationRequested", "investigation.reinvestigation_requested"),
    ]
    assert SOURCE == "ai-sre.slack"


def test_ratings_are_the_ones_the_buttons_record() -> None:
    assert Rating.__args__ == RATINGS == AnswerRating.__args__


@pytest.mark.parametrize("event", [
    FeedbackRecorded(**COMMON, rating="needs_improvement", reason="wrong_commands", comment="use --to-revision=3"),
    FeedbackRecorded(**COMMON, rating="accurate"),
    InvestigationAcknowledged(**COMMON),
    ReinvestigationRequested(**COMMON),
], ids=lambda event: f"{event.detail_type}-{getattr(event, 'rating', '')}")
def test_each_event_detail_is_valid_against_its_published_schema(event: Any) -> None:
    detail = json.loads(event.to_detail())
    assert _errors(f"{GENERATE.SCHEMAS}/events/{event.detail_type}.schema.json", detail) == []
    assert detail["version"] == "1" and detail["at"] == "2026-11-27T08:20:11Z" and detail["user"] == USER
    # "reason and comment when the modal gave them": absent, not null, otherwise.
    assert ("reason" in detail) == (getattr(event, "reason", None) is not None)
    entry = event.to_entry("sre-slack-engine")
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (SOURCE, event.detail_type,
                                                                             "sre-slack-engine")
    assert json.loads(entry["Detail"]) == detail


def test_an_event_time_is_converted_to_utc_and_every_field_is_required() -> None:
    event = InvestigationAcknowledged(**{**COMMON, "at": "2026-11-27T09:20:11+01:00"})
    assert json.loads(event.to_detail())["at"] == "2026-11-27T08:20:11Z"
    schema = _schema(f"{GENERATE.SCHEMAS}/events/investigation.acknowledged.schema.json")
    assert set(schema["required"]) == {"version", "event_id", "tenant_id", "investigation_id", "cluster", "user",
                                       "at"}


@pytest.mark.parametrize("change", [{"rating": "great"}, {"user": {"id": "U1"}}, {"tenant_id": "t#x"},
                                    {"colour": "red"}])
def test_the_publisher_cannot_build_an_event_outside_the_contract(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FeedbackRecorded(**{**COMMON, "rating": "accurate", **change})
