"""Interactivity of the stand-in: the signed payloads Slack sends for button clicks and modal submissions."""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from localdev.slack_standin_state import APP_ID, Channel, Message, Team, User, View

# Slack still sends the deprecated verification token in payloads; ours is a visible placeholder.
LEGACY_VERIFICATION_TOKEN = "local-verification-token"


@dataclass(frozen=True)
class InteractionResult:
    """What the app's interactivity endpoint answered (status 0: it could not be reached)."""

    status: int
    body: str
    opened_view_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def user_object(user: User, team: Team) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": team.id}


def find_action(message: Message, action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the interactive element with this action_id in the message's blocks."""
    for index, block in enumerate(message.blocks):
        block_id = str(block.get("block_id") or f"b{index}")
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block_id, element
    return None


MENU_TYPES = ("overflow", "static_select")


def chosen_option(element: dict[str, Any], option: str | None) -> dict[str, Any]:
    """The option of an overflow menu (or select) the person picks: the one with value `option`, else the first."""
    options = _options(element)
    found = next((o for o in options if option is None or o.get("value") == option), None)
    if found is None:
        raise LookupError(f"{element.get('action_id')!r} has no option {option!r}")
    return copy.deepcopy(found)


def block_actions_payload(
    *,
    team: Team,
    user: User,
    channel: Channel,
    message: Message,
    block_id: str,
    element: dict[str, Any],
    response_url: str,
    trigger_id: str,
    option: str | None = None,
) -> dict[str, Any]:
    """What Slack sends for a click on `element`; for an overflow menu (or select), the pick of `option`."""
    action: dict[str, Any] = {
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if element.get("type") in MENU_TYPES:
        action["selected_option"] = chosen_option(element, option)
    if "text" in element:
        action["text"] = copy.deepcopy(element["text"])
    if "value" in element:
        action["value"] = element["value"]
    if "style" in element:
        action["style"] = element["style"]
    return {
        "type": "block_actions",
        "user": user_object(user, team),
        "api_app_id": APP_ID,
        "token": LEGACY_VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team.id, "domain": team.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": message.to_api(),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def input_elements(view: View) -> list[tuple[str, dict[str, Any]]]:
    """(block_id, element) of each input block of the view, in order."""
    found = []
    for index, block in enumerate(view.definition.get("blocks") or []):
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            found.append((str(block.get("block_id") or f"b{index}"), block["element"]))
    return found


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def state_value(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The state.values entry Slack sends for this element when the user entered `value`."""
    kind = str(element.get("type", "plain_text_input"))
    if isinstance(value, dict):
        return {"type": kind, **value}
    if kind in ("static_select", "radio_buttons"):
        chosen = next((o for o in _options(element) if o.get("value") == value), None)
        return {"type": kind, "selected_option": copy.deepcopy(chosen)}
    if kind in ("checkboxes", "multi_static_select"):
        wanted = [value] if isinstance(value, str) else list(value or [])
        return {"type": kind, "selected_options": [o for o in _options(element) if o.get("value") in wanted]}
    return {"type": kind, "value": None if value in (None, "") else str(value)}


def view_submission_payload(
    *, team: Team, user: User, view: View, values: dict[str, dict[str, Any]], trigger_id: str
) -> dict[str, Any]:
    state: dict[str, dict[str, Any]] = {}
    for block_id, element in input_elements(view):
        action_id = str(element.get("action_id") or "")
        entered = values.get(block_id, {}).get(action_id)
        state.setdefault(block_id, {})[action_id] = state_value(element, entered)
    body = view.to_api()
    body["state"] = {"values": state}
    return {
        "type": "view_submission",
        "team": {"id": team.id, "domain": team.domain},
        "user": user_object(user, team),
        "api_app_id": APP_ID,
        "token": LEGACY_VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": body,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }


def signed_form(payload: dict[str, Any], signing_secret: str, timestamp: int | None = None) -> tuple[bytes, dict]:
    """The form body and headers exactly as Slack sends them: `payload=<json>`, v0 signature."""
    from slack_sdk.signature import SignatureVerifier

    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return body.encode(), headers


def deliver(url: str, body: bytes, headers: dict[str, str], timeout: float) -> InteractionResult:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return InteractionResult(response.status, response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        return InteractionResult(exc.code, exc.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        return InteractionResult(0, f"could not reach the interactivity URL: {reason}")


def apply_view_response(view: View, result: InteractionResult) -> None:
    """What Slack does with the app's answer to a view_submission."""
    if result.status != 200:
        return
    try:
        answer = json.loads(result.body) if result.body.strip() else {}
    except json.JSONDecodeError:
        answer = {}
    action = answer.get("response_action") if isinstance(answer, dict) else None
    if action == "errors":
        view.errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
    elif action in ("update", "push") and isinstance(answer.get("view"), dict):
        view.definition = copy.deepcopy(answer["view"])
        view.errors = {}
    else:
        view.closed = True
