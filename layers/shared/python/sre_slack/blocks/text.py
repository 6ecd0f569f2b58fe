"""Making outside text safe and short enough for Slack mrkdwn.

Everything the engine sends (alert names, summaries, root causes, commands, label values) goes through
`escape` before it reaches a mrkdwn text: Slack parses `<...>` as mentions and links, so an unescaped
`<!channel>` pings a whole channel. Only `&`, `<` and `>` are escaped; Slack decodes nothing else
(shared/README.md). `plain_text` objects (header, button labels) are not parsed and are not escaped.

Lengths are counted in UTF-16 code units (`slack_len`), not code points: Slack's limits are enforced by
services that count that way, and an emoji counts twice there. Counting the longer way can only keep us
under a limit, never push us over it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

ELLIPSIS = "…"

_ENTITIES = ("&amp;", "&lt;", "&gt;")
_LONGEST_ENTITY = max(len(entity) for entity in _ENTITIES)
_WHITESPACE_RUN = re.compile(r"\s+")
_BACKTICK_RUN = re.compile(r"`{3,}")
_ZERO_WIDTH_SPACE = "\u200b"
_FENCE = "```"
# How far back a cut may move to land on a word boundary instead of mid-word.
_WORD_BOUNDARY_WINDOW = 24


def slack_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace: for headers, fields and the notification text."""
    return _WHITESPACE_RUN.sub(" ", text).strip()


def _shorten(text: str, limit: int, suffix: str, *, mrkdwn: bool) -> str:
    if limit <= 0:
        return ""
    if slack_len(text) <= limit:
        return text
    if slack_len(suffix) > limit:
        suffix = ""
    cut = _prefix_length(text, limit - slack_len(suffix))
    return text[:_safe_cut(text, cut) if mrkdwn else cut].rstrip() + suffix


def truncate(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Shorten mrkdwn-ready text to at most `limit` (slack_len), ending in `suffix` when anything was cut.

    The cut never lands inside an escape entity (`&amp;`) or inside a `<...>` token (a link, date or mention
    we built), and moves back to a word boundary when one is close.
    """
    return _shorten(text, limit, suffix, mrkdwn=True)


def truncate_plain(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Shorten `plain_text` (header, button label: nothing is parsed there) to at most `limit`."""
    return _shorten(text, limit, suffix, mrkdwn=False)


def clip(raw: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Escape outside text, then truncate it to `limit`: the usual way raw text enters a message."""
    return truncate(escape(raw), limit, suffix)


def clip_line(raw: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """`clip` for text that must stay on one line."""
    return clip(one_line(raw), limit, suffix)


def inline_code(raw: str, limit: int) -> str:
    """`raw` (escaped, on one line, clipped to `limit`) as an inline code span. A backtick would end the span
    early, so it becomes a look-alike that keeps the name readable."""
    return f"`{clip_line(raw.replace('`', 'ˋ'), limit)}`"


def code_block(raw: str, limit: int) -> str:
    """A ``` block holding `raw` (escaped), at most `limit` long including the fences; "" if it cannot fit.

    A run of three or more backticks inside the command would close the block early, so a zero-width space
    is put between those backticks. Single and double backticks (shell substitution) are left alone.
    """
    room = limit - 2 * len(_FENCE)
    if room <= 0:
        return ""
    content = _BACKTICK_RUN.sub(lambda run: _ZERO_WIDTH_SPACE.join(run.group()), escape(raw))
    # A backtick next to a fence would merge with it.
    if content.startswith("`"):
        content = _ZERO_WIDTH_SPACE + content
    if content.endswith("`"):
        content += _ZERO_WIDTH_SPACE
    content = truncate(content, room)
    if not content.strip():
        return ""
    return f"{_FENCE}{content}{_FENCE}"


def link(url: str, label: str) -> str:
    """A mrkdwn link. `url` must already be a valid URL (see models.investigation); `label` is mrkdwn."""
    return f"<{escape(url)}|{label}>"


def slack_date(moment: datetime, date_format: str = "{date_short_pretty} {time}") -> str:
    """A date Slack shows in the reader's own time zone ("Today 09:12"), with a UTC fallback."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{date_format}|{fallback}>"


def bullet_list(
    items: Sequence[str],
    limit: int,
    more: Callable[[int], str],
    *,
    total: int | None = None,
    bullet: str = "• ",
) -> tuple[str, int]:
    """Join mrkdwn-ready lines as a bulleted list of at most `limit`; returns (text, items shown).

    `total` is the number of items in all when `items` holds only the first ones (the rest count as
    hidden). When not every item is shown, the list ends with the line `more(hidden_count)`. Each item is
    expected to be short already (truncate it first); one that does not fit ends the list there.
    """
    total = len(items) if total is None else max(total, len(items))
    lines: list[str] = []
    used = 0
    for index, item in enumerate(items):
        line = f"{bullet}{item}"
        hidden_after = total - index - 1
        reserve = 0 if hidden_after == 0 else slack_len(more(hidden_after)) + 1
        cost = slack_len(line) + (1 if lines else 0)
        if used + cost + reserve > limit:
            break
        lines.append(line)
        used += cost
    hidden = total - len(lines)
    if hidden:
        tail = more(hidden)
        if used + slack_len(tail) + (1 if lines else 0) <= limit:
            lines.append(tail)
    return "\n".join(lines), total - hidden


def _prefix_length(text: str, room: int) -> int:
    """How many code points of `text` fit in `room` UTF-16 units."""
    width = 0
    for index, char in enumerate(text):
        width += 2 if ord(char) > 0xFFFF else 1
        if width > room:
            return index
    return len(text)


def _safe_cut(text: str, cut: int) -> int:
    # Prefer a word boundary close by, unless the cut already is one.
    if 0 < cut < len(text) and not text[cut].isspace() and not text[cut - 1].isspace():
        window_start = max(0, cut - _WORD_BOUNDARY_WINDOW)
        space = max(text.rfind(" ", window_start, cut), text.rfind("\n", window_start, cut))
        if space > 0:
            cut = space
    # Inside an entity: "&am" would show as garbage and "&" alone is an unescaped control character.
    amp = text.rfind("&", max(0, cut - _LONGEST_ENTITY + 1), cut)
    if amp != -1 and any(text.startswith(entity, amp) and amp + len(entity) > cut for entity in _ENTITIES):
        cut = amp
    # Inside a <...> token: escaped outside text has no "<", so any "<" is a link or date we built.
    opening = text.rfind("<", 0, cut)
    if opening != -1 and text.find(">", opening, cut) == -1:
        cut = opening
    return cut
