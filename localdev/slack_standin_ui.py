"""The stand-in's browser pages: channels, messages rendered from Block Kit, clickable buttons, modals.

Everything here renders state to HTML; the HTTP handler in slack_standin.py wires the forms to `click` and
`submit_view`. Text from messages is escaped: it is whatever the app posted.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlencode

from localdev.slack_standin_state import Channel, Message, Team, View, Workspace

_LINK = re.compile(r"<([^<>]+)>")
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])")

STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;display:flex;min-height:100vh;color:#1d1c1d}
nav{width:16em;background:#3f0e40;color:#fff;padding:1em;flex-shrink:0}
nav a{color:#fff;text-decoration:none;display:block;padding:.15em .3em;border-radius:4px}
nav a.current{background:#1164a3} nav .muted{opacity:.6} nav h2{font-size:1.05em;margin:.2em 0 .8em}
nav form{margin-top:1.5em;font-size:.85em}
main{flex:1;padding:1em 2em;max-width:60em}
.msg{border-bottom:1px solid #eee;padding:.8em 0} .section{margin:.35em 0}
.meta{color:#616061;font-size:.8em;margin-bottom:.3em}
.meta b{color:#1d1c1d;font-size:1.15em}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:.3em 2em;margin:.4em 0}
.context{color:#616061;font-size:.85em;margin:.3em 0} .context span{margin-right:.8em}
pre{background:#f8f8f8;border:1px solid #ddd;padding:.5em;border-radius:4px;white-space:pre-wrap}
code{background:#f8f8f8;border:1px solid #ddd;padding:0 .2em;border-radius:3px;color:#c01343}
.actions form{display:inline} button{margin:.2em .3em .2em 0;padding:.35em .9em;border:1px solid #bbb;
border-radius:4px;background:#fff;cursor:pointer} button.primary{background:#007a5a;color:#fff;border-color:#007a5a}
button.danger{color:#e01e5a;border-color:#e01e5a} button[disabled]{cursor:not-allowed;opacity:.6}
.mention{background:#fff3c4;padding:0 .2em;border-radius:3px} .flash{padding:.6em;border-radius:4px;margin:.5em 0}
.flash.ok{background:#e3f6ee} .flash.err{background:#fde8ec} .edited{color:#999;font-size:.8em}
.modal{border:1px solid #ccc;border-radius:8px;padding:1em 1.5em;max-width:34em;box-shadow:0 4px 12px #0002}
.modal label{display:block;font-weight:bold;margin-top:.8em} .modal textarea,.modal input[type=text],.modal select
{width:100%;box-sizing:border-box;padding:.4em} .err{color:#e01e5a;font-size:.85em} h3{margin:.3em 0}
"""


def page(title: str, nav: str, body: str, *, refresh: bool = False) -> str:
    meta = "<meta http-equiv='refresh' content='5'>" if refresh else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><nav>{nav}</nav><main>{body}</main></body></html>"
    )


def flash(kind: str | None, text: str | None) -> str:
    if not text:
        return ""
    return f"<div class='flash {'ok' if kind == 'ok' else 'err'}'>{html.escape(text)}</div>"


def user_link_params(as_user: str, **extra: str) -> str:
    return urlencode({"as": as_user, **extra})


def sidebar(store: Workspace, team: Team, current: str | None, as_user: str) -> str:
    teams = "".join(
        f"<a class='{'current' if t.id == team.id else ''}' href='/?{user_link_params(as_user, team=t.id)}'>"
        f"{html.escape(t.name)}</a>"
        for t in store.teams.values()
    )
    channels = []
    for c in sorted(store.team_channels(team.id), key=lambda c: (c.is_archived, c.name)):
        icon = "🔒" if c.is_private else "#"
        notes = (" (archived)" if c.is_archived else "") + ("" if c.bot_member else " · bot not in")
        css = ("current " if c.id == current else "") + ("muted" if c.is_archived or not c.bot_member else "")
        channels.append(
            f"<a class='{css}' href='/channels/{html.escape(c.id)}?{user_link_params(as_user)}' "
            f"title='{html.escape(c.id)}'>{icon} {html.escape(c.name)}{html.escape(notes)}</a>"
        )
    users = "".join(
        f"<option value='{html.escape(u.id)}'{' selected' if u.id == as_user else ''}>{html.escape(u.name)}</option>"
        for u in store.users.values()
        if not u.is_bot
    )
    return (
        f"<h2>{html.escape(team.name)}</h2>{''.join(channels)}"
        f"<form method='get'><label>Acting as <select name='as' onchange='this.form.submit()'>{users}</select>"
        f"</label></form><div style='margin-top:1.5em;font-size:.85em'>Workspaces{teams}</div>"
    )


# -- mrkdwn ----------------------------------------------------------------------------------------------
def render_mrkdwn(text: str, store: Workspace) -> str:
    """Slack mrkdwn to HTML. Slack text arrives with &amp; &lt; &gt; escaped and <...> as link syntax."""
    out = []
    position = 0
    for match in _LINK.finditer(text):
        out.append(_format_plain(text[position : match.start()]))
        out.append(_render_link(match.group(1), store))
        position = match.end()
    out.append(_format_plain(text[position:]))
    return "".join(out)


def _format_plain(segment: str) -> str:
    escaped = html.escape(html.unescape(segment), quote=False)
    blocks: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        blocks.append(f"<pre>{match.group(1).strip(chr(10))}</pre>")
        return f"\x00{len(blocks) - 1}\x00"

    escaped = _CODE_BLOCK.sub(keep_code, escaped)
    escaped = _INLINE_CODE.sub(r"<code>\1</code>", escaped)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    escaped = escaped.replace("\n", "<br>")
    return re.sub("\x00(\\d+)\x00", lambda m: blocks[int(m.group(1))], escaped)


def _render_link(inner: str, store: Workspace) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        user = store.users.get(target[1:])
        return f"<span class='mention'>@{html.escape(label or (user.name if user else target[1:]))}</span>"
    if target.startswith("#"):
        channel = store.channels.get(target[1:])
        return f"<span class='mention'>#{html.escape(label or (channel.name if channel else target[1:]))}</span>"
    if target.startswith("!"):
        return f"<span class='mention'>@{html.escape(label or target[1:].split('^')[0])}</span>"
    url = html.unescape(target)
    if not url.startswith(("http://", "https://", "mailto:")):
        return html.escape(html.unescape(inner))
    return f"<a href='{html.escape(url)}' target='_blank' rel='noopener'>{html.escape(html.unescape(label or url))}</a>"


def render_text_object(obj: Any, store: Workspace) -> str:
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return render_mrkdwn(text, store)
    return html.escape(text).replace("\n", "<br>")


# -- blocks ----------------------------------------------------------------------------------------------
def render_button(
    element: dict[str, Any], *, channel: Channel, message: Message, as_user: str, interactive: bool
) -> str:
    label = html.escape(str((element.get("text") or {}).get("text", "")))
    css = {"primary": "primary", "danger": "danger"}.get(str(element.get("style")), "")
    if element.get("url"):
        url = html.escape(str(element["url"]))
        return f"<a href='{url}' target='_blank'><button class='{css}'>{label}</button></a>"
    if not interactive:
        return f"<button class='{css}' disabled title='Interactivity URL not configured'>{label}</button>"
    fields = {
        "channel": channel.id,
        "ts": message.ts,
        "action_id": str(element.get("action_id", "")),
        "as": as_user,
    }
    hidden = "".join(f"<input type='hidden' name='{k}' value='{html.escape(v)}'>" for k, v in fields.items())
    return f"<form method='post' action='/_ui/click'>{hidden}<button class='{css}'>{label}</button></form>"


def render_overflow(
    element: dict[str, Any], *, channel: Channel, message: Message, as_user: str, interactive: bool
) -> str:
    """An overflow menu as one small button per option ("⋯ Re-investigate"); no confirmation dialog."""
    forms = []
    for option in element.get("options") or []:
        label = "⋯ " + html.escape(str((option.get("text") or {}).get("text", "")))
        if not interactive:
            forms.append(f"<button disabled title='Interactivity URL not configured'>{label}</button>")
            continue
        fields = {"channel": channel.id, "ts": message.ts, "action_id": str(element.get("action_id", "")),
                  "option": str(option.get("value", "")), "as": as_user}
        hidden = "".join(f"<input type='hidden' name='{k}' value='{html.escape(v)}'>" for k, v in fields.items())
        forms.append(f"<form method='post' action='/_ui/click'>{hidden}<button>{label}</button></form>")
    return "".join(forms)


def render_blocks(
    blocks: list[dict[str, Any]], store: Workspace, *, channel: Channel, message: Message, as_user: str,
    interactive: bool,
) -> str:  # fmt: skip
    out = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(f"<h3>{render_text_object(block.get('text'), store)}</h3>")
        elif kind == "section":
            parts = []
            if block.get("text"):
                parts.append(f"<div>{render_text_object(block['text'], store)}</div>")
            if block.get("fields"):
                cells = "".join(f"<div>{render_text_object(f, store)}</div>" for f in block["fields"])
                parts.append(f"<div class='fields'>{cells}</div>")
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                parts.append(
                    render_button(accessory, channel=channel, message=message, as_user=as_user, interactive=interactive)
                )
            out.append(f"<div class='section'>{''.join(parts)}</div>")
        elif kind == "context":
            items = []
            for element in block.get("elements") or []:
                if element.get("type") == "image":
                    items.append(f"<span>[{html.escape(str(element.get('alt_text', 'image')))}]</span>")
                else:
                    items.append(f"<span>{render_text_object(element, store)}</span>")
            out.append(f"<div class='context'>{''.join(items)}</div>")
        elif kind == "divider":
            out.append("<hr>")
        elif kind == "actions":
            buttons = "".join(
                render_button(e, channel=channel, message=message, as_user=as_user, interactive=interactive)
                if e.get("type") == "button"
                else render_overflow(e, channel=channel, message=message, as_user=as_user, interactive=interactive)
                if e.get("type") == "overflow"
                else f"<span class='muted'>[{html.escape(str(e.get('type')))}]</span>"
                for e in block.get("elements") or []
            )
            out.append(f"<div class='actions'>{buttons}</div>")
        elif kind == "image":
            out.append(f"<div>[image: {html.escape(str(block.get('alt_text', '')))}]</div>")
        elif kind == "rich_text":
            out.append(render_rich_text(block))
        elif kind == "markdown":
            out.append(f"<pre>{html.escape(str(block.get('text', '')))}</pre>")
        else:
            out.append(f"<pre>{html.escape(json.dumps(block, indent=1))}</pre>")
    return "".join(out)


def render_rich_text(block: dict[str, Any]) -> str:
    out = []
    for element in block.get("elements") or []:
        text = "".join(str(part.get("text", "")) for part in element.get("elements") or [] if isinstance(part, dict))
        if element.get("type") == "rich_text_preformatted":
            out.append(f"<pre>{html.escape(text)}</pre>")
        else:
            out.append(f"<div>{html.escape(text)}</div>")
    return "".join(out)


def render_message(message: Message, store: Workspace, channel: Channel, as_user: str, interactive: bool) -> str:
    author = store.users.get(message.user)
    name = "ai-sre (app)" if message.bot_id else (author.name if author else message.user)
    edited = " <span class='edited'>(edited)</span>" if message.edited else ""
    if message.blocks:
        body = render_blocks(
            message.blocks, store, channel=channel, message=message, as_user=as_user, interactive=interactive
        )
    else:
        body = render_mrkdwn(message.text, store)
    return (
        f"<div class='msg' id='m{html.escape(message.ts)}'><div class='meta'><b>{html.escape(name)}</b> "
        f"{html.escape(message.ts)}{edited}</div>{body}</div>"
    )


# -- pages -----------------------------------------------------------------------------------------------
def index_page(store: Workspace, team: Team, as_user: str, base_url: str, note: str) -> str:
    rows = []
    for c in store.team_channels(team.id):
        count = len(store.channel_messages(c.id))
        rows.append(
            f"<tr><td><a href='/channels/{html.escape(c.id)}?{user_link_params(as_user)}'>"
            f"{'🔒' if c.is_private else '#'} {html.escape(c.name)}</a></td><td><code>{html.escape(c.id)}</code></td>"
            f"<td>{'archived' if c.is_archived else ''}</td><td>{'yes' if c.bot_member else 'no'}</td>"
            f"<td>{count}</td></tr>"
        )
    body = (
        f"<h1>{html.escape(team.name)} <small><code>{html.escape(team.id)}</code></small></h1>"
        f"<p>Local Slack stand-in. Web API: <code>{html.escape(base_url)}api/</code>. {html.escape(note)}</p>"
        "<table cellpadding='4'><tr><th align='left'>channel</th><th>id</th><th></th><th>bot member</th>"
        f"<th>messages</th></tr>{''.join(rows)}</table>"
    )
    return page(f"{team.name} · Slack stand-in", sidebar(store, team, None, as_user), body)


def channel_page(
    store: Workspace, channel: Channel, as_user: str, interactive: bool, open_views: list[View], notice: str
) -> str:
    team = store.teams[channel.team_id]
    # Thread replies sit indented under their parent (a broadcast one also stands in the channel itself).
    messages = [m for m in store.channel_messages(channel.id) if m.thread_ts is None or m.reply_broadcast]
    ephemeral = [
        m for m in store.messages.values() if m.channel == channel.id and m.ephemeral_to == as_user and not m.deleted
    ]
    rendered = ""
    for m in messages:
        rendered += render_message(m, store, channel, as_user, interactive)
        replies = store.thread_replies(channel.id, m.ts) if m.thread_ts is None else []
        if replies:
            rendered += (
                f"<details class='thread' style='margin-left:2em'><summary class='meta'>{len(replies)} "
                f"{'reply' if len(replies) == 1 else 'replies'}</summary>"
                + "".join(render_message(r, store, channel, as_user, interactive) for r in replies)
                + "</details>"
            )
    for m in ephemeral:
        rendered += (
            "<div style='background:#f4f9ff'><div class='meta'>Only visible to you</div>"
            f"{render_message(m, store, channel, as_user, interactive)}</div>"
        )
    modals = "".join(
        f"<div class='flash ok'>A modal is open: <a href='/views/{html.escape(v.id)}?{user_link_params(as_user)}'>"
        f"{render_text_object(v.definition.get('title'), store)}</a></div>"
        for v in open_views
    )
    state = []
    if channel.is_archived:
        state.append("archived")
    if channel.is_private:
        state.append("private")
    state.append("bot is a member" if channel.bot_member else "bot is not a member")
    body = (
        f"<h1>{'🔒' if channel.is_private else '#'} {html.escape(channel.name)} "
        f"<small><code>{html.escape(channel.id)}</code></small></h1>"
        f"<p class='meta'>{html.escape(', '.join(state))}</p>{notice}{modals}"
        f"{rendered or '<p>No messages yet.</p>'}"
    )
    return page(f"#{channel.name}", sidebar(store, team, channel.id, as_user), body, refresh=not open_views)


def view_page(store: Workspace, view: View, as_user: str, notice: str) -> str:
    team = store.teams[view.team_id]
    definition = view.definition
    parts = []
    for index, block in enumerate(definition.get("blocks") or []):
        block_id = str(block.get("block_id") or f"b{index}")
        if block.get("type") != "input":
            dummy = Channel("", "", team.id)
            parts.append(
                render_blocks([block], store, channel=dummy, message=_NO_MESSAGE, as_user=as_user, interactive=False)
            )
            continue
        element = block.get("element") or {}
        name = f"{block_id}::{element.get('action_id', '')}"
        optional = " (optional)" if block.get("optional") else ""
        parts.append(
            f"<label>{render_text_object(block.get('label'), store)}{optional}</label>{render_input(element, name)}"
        )
        if block_id in view.errors:
            parts.append(f"<div class='err'>{html.escape(view.errors[block_id])}</div>")
    submit = definition.get("submit") or {"text": "Submit"}
    close = definition.get("close") or {"text": "Cancel"}
    hidden = (
        f"<input type='hidden' name='view_id' value='{html.escape(view.id)}'>"
        f"<input type='hidden' name='as' value='{html.escape(as_user)}'>"
    )
    body = (
        f"{notice}<div class='modal'><h2>{render_text_object(definition.get('title'), store)}</h2>"
        f"<form method='post' action='/_ui/submit'>{hidden}{''.join(parts)}<p>"
        f"<button class='primary'>{html.escape(str(submit.get('text', 'Submit')))}</button></p></form>"
        f"<form method='post' action='/_ui/close'>{hidden}"
        f"<button>{html.escape(str(close.get('text', 'Cancel')))}</button></form></div>"
        f"<p class='meta'>view <code>{html.escape(view.id)}</code> · callback_id "
        f"<code>{html.escape(str(definition.get('callback_id', '')))}</code></p>"
    )
    return page("Modal", sidebar(store, team, None, as_user), body)


def render_input(element: dict[str, Any], name: str) -> str:
    kind = element.get("type")
    initial = html.escape(str(element.get("initial_value", "")))
    placeholder = html.escape(str((element.get("placeholder") or {}).get("text", "")))
    field = html.escape(name)
    if kind == "plain_text_input" and element.get("multiline"):
        return f"<textarea name='{field}' rows='4' placeholder='{placeholder}'>{initial}</textarea>"
    if kind in ("static_select", "radio_buttons", "checkboxes", "multi_static_select"):
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options.extend(group.get("options") or [])
        multiple = " multiple" if kind in ("checkboxes", "multi_static_select") else ""
        rendered = "".join(
            f"<option value='{html.escape(str(o.get('value', '')))}'>"
            f"{html.escape(str((o.get('text') or {}).get('text', '')))}</option>"
            for o in options
        )
        empty = "" if multiple else "<option value=''></option>"
        return f"<select name='{field}'{multiple}>{empty}{rendered}</select>"
    return f"<input type='text' name='{field}' value='{initial}' placeholder='{placeholder}'>"


_NO_MESSAGE = Message("", "", "", [], "", None, "")
