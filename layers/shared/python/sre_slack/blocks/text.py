"""Making outside text safe and short enough for Slack mrkdwn.

Everything the engine sends (alert names, summaries, root causes, commands, label values) goes through
`escape` before it reaches a mrkdwn text: Slack parses `<...>` as mentions and links, so an unescaped
`<!channel>` pings a whole channel. Only `&`, `<` and `>` are escaped; Slack decodes nothing else
(shared/README.md). `plain_text` objects (header, button labels) are not parsed and are not escaped.

Directional and invisible characters (`HIDDEN_CHARACTERS`: bidi embeddings, overrides and isolates,
zero-width spaces and joiners, the soft hyphen) are removed from outside text by the same helpers (`escape`,
`one_line`, `truncate_plain`, and so `clip`, `clip_line`, `inline_code`, `code_block`): a U+202E next to a
kubectl command could make "RTL" read "LTR", and no builder can forget a rule it never calls. A command shown
as it was sent (the investigation's rich_text blocks) uses `strip_hidden` and says when it removed anything.

Lengths are counted in UTF-16 code units (`slack_len`), not code points: Slack's limits are enforced by
services that count that way, and an emoji counts twice there. Counting the longer way can only keep us
under a limit, never push us over it.

Cutting (`truncate`) never leaves a formatting run open: not inside an escape entity, a `<...>` token, an
inline code span, a code block, or a `*bold*` / `_italic_` / `~strike~` run; it backs off to before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

ELLIPSIS = "…"
# Directional formatting (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, the marks LRM, RLM
# and ALM) and invisible characters (zero-width space, joiners and non-joiners, word joiner and the invisible
# operators, BOM, Mongolian vowel separator, soft hyphen): none shows, and each can change what a reader sees.
HIDDEN_CHARACTERS = frozenset(
    "\u00ad\u061c\u180e\ufeff"
    + "".join(chr(code) for code in range(0x200B, 0x2010))
    + "".join(chr(code) for code in range(0x202A, 0x202F))
    + "".join(chr(code) for code in range(0x2060, 0x2065))
    + "".join(chr(code) for code in range(0x2066, 0x206A))
)
# What a backtick in outside text becomes inside inline code or a code block, which it would end early.
BACKTICK_LOOKALIKE = "ˋ"

_HIDDEN = re.compile("[" + "".join(sorted(HIDDEN_CHARACTERS)) + "]")
_ENTITIES = ("&amp;", "&lt;", "&gt;")
_LONGEST_ENTITY = max(len(entity) for entity in _ENTITIES)
_WHITESPACE_RUN = re.compile(r"\s+")
_FENCE = "```"
_EMPHASIS_MARKERS = "*_~"
# How far back a cut may move to land on a word boundary instead of mid-word.
_WORD_BOUNDARY_WINDOW = 24


def slack_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def strip_hidden(text: str) -> str:
    """`text` without any of HIDDEN_CHARACTERS (compare with the original to know whether any were there)."""
    return _HIDDEN.sub("", text)


def escape(text: str) -> str:
    """Outside text made mrkdwn-safe: hidden characters removed, then the three characters Slack treats as
    control characters escaped (removing first, so that a hidden character cannot split `<!channel>`)."""
    return strip_hidden(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """Hidden characters removed, newlines and runs of whitespace collapsed: for headers, fields and the
    notification text."""
    return _WHITESPACE_RUN.sub(" ", strip_hidden(text)).strip()


def _shorten(text: str, limit: int, suffix: str, *, mrkdwn: bool, runs: bool = True) -> str:
    if limit <= 0:
        return ""
    if slack_len(text) <= limit:
        return text
    if slack_len(suffix) > limit:
        suffix = ""
    cut = _prefix_length(text, limit - slack_len(suffix))
    return text[:_safe_cut(text, cut, runs=runs) if mrkdwn else cut].rstrip() + suffix


def truncate(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Shorten mrkdwn-ready text to at most `limit` (slack_len), ending in `suffix` when anything was cut.

    The cut never lands inside an escape entity (`&amp;`), a `<...>` token (a link, date or mention we built),
    an inline code span or ``` block, or a `*bold*`, `_italic_` or `~strike~` run (a marker at a word start
    with its closing marker later on the same line): it moves back to before the entity, token or run, so
    nothing is left open. It also moves back to a word boundary when one is close.
    """
    return _shorten(text, limit, suffix, mrkdwn=True)


def truncate_plain(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Shorten `plain_text` (header, button label: nothing is parsed there) to at most `limit`; hidden
    characters are removed first."""
    return _shorten(strip_hidden(text), limit, suffix, mrkdwn=False)


def clip(raw: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Escape outside text, then truncate it to `limit`: the usual way raw text enters a message."""
    return truncate(escape(raw), limit, suffix)


def clip_line(raw: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """`clip` for text that must stay on one line."""
    return clip(one_line(raw), limit, suffix)


def inline_code(raw: str, limit: int) -> str:
    """`raw` (escaped, on one line, clipped to `limit`) as an inline code span. A backtick would end the span
    early, so it becomes a look-alike that keeps the name readable."""
    return f"`{clip_line(raw.replace('`', BACKTICK_LOOKALIKE), limit)}`"


def code_block(raw: str, limit: int) -> str:
    """A ``` block holding `raw` (escaped), at most `limit` long including the fences; "" if it cannot fit.

    For text laid out in columns (the digest's tables), not for commands to copy: backticks become a
    look-alike (three would close the block early, one next to a fence would merge with it), so the text is
    not exactly what was given. A command is shown as a rich_text block instead (see blocks/investigation.py).
    """
    room = limit - 2 * len(_FENCE)
    if room <= 0:
        return ""
    # Inside the block `*` and `_` are literal: only entities and tokens limit where it may be cut.
    content = _shorten(escape(raw).replace("`", BACKTICK_LOOKALIKE), room, ELLIPSIS, mrkdwn=True, runs=False)
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
    separator: str = "\n",
) -> tuple[str, int]:
    """Join mrkdwn-ready items, whole, into a text of at most `limit`; returns (text, items shown).

    One per line after `bullet` by default; `bullet=""` and `separator=" "` make a line of chips. `total`
    is the number of items in all when `items` holds only the first ones (the rest count as hidden). When
    not every item is shown, the text ends with `more(hidden_count)`. An item is never cut (that could leave
    its formatting open): each is expected to be short already, and one that does not fit ends the list.
    """
    total = len(items) if total is None else max(total, len(items))
    parts: list[str] = []
    used = 0
    gap = slack_len(separator)
    for index, item in enumerate(items):
        part = f"{bullet}{item}"
        hidden_after = total - index - 1
        reserve = 0 if hidden_after == 0 else slack_len(more(hidden_after)) + gap
        cost = slack_len(part) + (gap if parts else 0)
        if used + cost + reserve > limit:
            break
        parts.append(part)
        used += cost
    hidden = total - len(parts)
    if hidden:
        tail = more(hidden)
        if used + slack_len(tail) + (gap if parts else 0) <= limit:
            parts.append(tail)
    return separator.join(parts), total - hidden


def _prefix_length(text: str, room: int) -> int:
    """How many code points of `text` fit in `room` UTF-16 units."""
    width = 0
    for index, char in enumerate(text):
        width += 2 if ord(char) > 0xFFFF else 1
        if width > room:
            return index
    return len(text)


def _safe_cut(text: str, cut: int, *, runs: bool) -> int:
    # Prefer a word boundary close by, unless the cut already is one.
    if 0 < cut < len(text) and not text[cut].isspace() and not text[cut - 1].isspace():
        window_start = max(0, cut - _WORD_BOUNDARY_WINDOW)
        space = max(text.rfind(" ", window_start, cut), text.rfind("\n", window_start, cut))
        if space > 0:
            cut = space
    # Moving out of one thing can move into another (a run around a link): repeat until nothing moves.
    while True:
        moved = _before_open_token(text, _before_open_entity(text, cut))
        if runs:
            moved = _before_open_run(text, moved)
        if moved == cut:
            return cut
        cut = moved


def _before_open_entity(text: str, cut: int) -> int:
    # Inside an entity: "&am" would show as garbage and "&" alone is an unescaped control character.
    amp = text.rfind("&", max(0, cut - _LONGEST_ENTITY + 1), cut)
    if amp != -1 and any(text.startswith(entity, amp) and amp + len(entity) > cut for entity in _ENTITIES):
        return amp
    return cut


def _before_open_token(text: str, cut: int) -> int:
    # Inside a <...> token: escaped outside text has no "<", so any "<" is a link or date we built.
    opening = text.rfind("<", 0, cut)
    if opening != -1 and text.find(">", opening, cut) == -1:
        return opening
    return cut


def _before_open_run(text: str, cut: int) -> int:
    """The start of the outermost code span, code block or emphasis run that `cut` would split, else `cut`."""
    line_end = text.find("\n", cut)
    line_end = len(text) if line_end == -1 else line_end
    code = _code_spans(text, line_end)
    starts = [start for start, end in code if start < cut < end]
    starts += [start for start, end in _emphasis_runs(text, cut, line_end, code) if start < cut < end]
    return min(starts, default=cut)


def _code_spans(text: str, before: int) -> list[tuple[int, int]]:
    """``` blocks (across lines) and `inline code` (within a line) starting before `before`, as (start, end),
    in order. An unmatched fence or backtick is literal."""
    spans: list[tuple[int, int]] = []
    index = text.find("`", 0, before)
    while index != -1:
        resume = index + 1
        if text.startswith(_FENCE, index):
            close = text.find(_FENCE, index + len(_FENCE))
            if close != -1:
                spans.append((index, close + len(_FENCE)))
            resume = close + len(_FENCE) if close != -1 else index + len(_FENCE)
        else:
            close = text.find("`", index + 1)
            line_end = text.find("\n", index + 1)
            if close != -1 and (line_end == -1 or close < line_end):
                spans.append((index, close + 1))
                resume = close + 1
        index = text.find("`", resume, before) if resume < before else -1
    return spans


def _emphasis_runs(text: str, cut: int, line_end: int, code: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The *bold*, _italic_ and ~strike~ runs outside code on the line `cut` falls in (they do not span lines
    in Slack) that start before `cut`: a marker after a non-word character and before a non-space opens one,
    the same marker after a non-space and before a non-word character closes it."""
    line_start = text.rfind("\n", 0, cut) + 1
    runs: list[tuple[int, int]] = []
    opened: dict[str, int] = {}
    spans = iter([(start, end) for start, end in code if end > line_start])
    span = next(spans, None)
    index = line_start
    while index < line_end:
        while span is not None and span[1] <= index:
            span = next(spans, None)
        if span is not None and span[0] <= index:
            index = span[1]  # markers inside code are literal
            continue
        char = text[index]
        if char in _EMPHASIS_MARKERS:
            before = text[index - 1] if index > line_start else " "
            after = text[index + 1] if index + 1 < line_end else " "
            if char in opened:
                if not before.isspace() and not after.isalnum():
                    runs.append((opened.pop(char), index + 1))
            elif index < cut and not before.isalnum() and before != char and not after.isspace() and after != char:
                opened[char] = index
        index += 1
    return runs
