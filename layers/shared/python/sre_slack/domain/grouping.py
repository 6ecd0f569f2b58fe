"""Alert storms (CONTRACT.md "Alert grouping"): which group an alert joins, whether it breaks out, what the
group's first message says about it. Pure: storage keeps the group rows, services.posting acts on these answers.

A group is one channel's alerts of one tenant, cluster, `alert.name` and `alert.namespace` whose `fired_at` falls
in the same window. Windows are aligned on event time (multiples of `window_minutes` since the epoch), so every
concurrent batch, whatever it received first, computes the same window for an alert and agrees on its group:
the group row of that window decides who is first (a conditional put). A storm that began in the window before
continues there while the alert lies within `window_minutes` of that group's first (`continues`), as the
contract says, so a storm crossing a boundary stays one thread; only alerts at the boundary processed at the
same instant as the previous window's first can still start a second. docs/posting.md "Alert storms".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sre_slack.contracts.investigation import InvestigationCompleted
from sre_slack.domain.routing import SEVERITIES_BY_RANK

# The first message's count line is refreshed (chat.update) at most once per this many seconds at first; the
# interval doubles with each refresh up to COUNT_REFRESH_MAX_SECONDS, so a long storm (its replies take ~1 s each
# to post) costs a handful of updates, and a small one shows its count within seconds.
COUNT_REFRESH_SECONDS = 5
COUNT_REFRESH_MAX_SECONDS = 60
# A member whose group's first message has no ts yet comes back after this long (SQS visibility), doubling with
# each receive up to FIRST_MESSAGE_WAIT_MAX_SECONDS: a first held up by Slack (a re-send backoff of minutes) must
# not run its members into the dead-letter queue's receive count.
FIRST_MESSAGE_WAIT_SECONDS = 2
FIRST_MESSAGE_WAIT_MAX_SECONDS = 300


@dataclass(frozen=True)
class GroupId:
    """Which group an alert joins in one channel: `identity` (channel, cluster, alert, namespace, hashed so that
    outside text never becomes part of a key unescaped) and the window it fired in. `escalated` names the
    severity of a breakout group (alerts more severe than the storm's first start their own, see `breaks_out`)."""

    identity: str
    window_start: datetime
    escalated: str | None = None

    def escalate(self, severity: str) -> GroupId:
        return GroupId(self.identity, self.window_start, severity)

    def previous(self, window_minutes: int) -> GroupId:
        """The same alerts' group of the window before (where a storm that began earlier lives)."""
        return GroupId(self.identity, self.window_start - timedelta(minutes=window_minutes), self.escalated)


def continues(first_fired_at: datetime, fired_at: datetime, window_minutes: int) -> bool:
    """An alert of the next window still belongs to a group whose first fired at most `window_minutes` before it."""
    return first_fired_at <= fired_at <= first_fired_at + timedelta(minutes=window_minutes)


def group_for(inv: InvestigationCompleted, channel: str, window_minutes: int) -> GroupId:
    alert = inv.alert
    raw = "\x1f".join([channel, inv.cluster, alert.name, alert.namespace or ""])
    identity = hashlib.sha256(raw.encode()).hexdigest()[:32]
    return GroupId(identity, window_start(alert.fired_at, window_minutes))


def window_start(fired_at: datetime, window_minutes: int) -> datetime:
    """The start of the aligned window `fired_at` lies in."""
    width = window_minutes * 60
    epoch = int(fired_at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % width, UTC)


def severity_rank(severity: str) -> int:
    """0 for the most severe; unknown severities rank last."""
    return SEVERITIES_BY_RANK.index(severity) if severity in SEVERITIES_BY_RANK else len(SEVERITIES_BY_RANK)  # type: ignore[arg-type]


def breaks_out(first_severity: str, severity: str) -> bool:
    """An alert more severe than its storm's first is not hidden in the thread."""
    return severity_rank(severity) < severity_rank(first_severity)


@dataclass(frozen=True)
class GroupCounts:
    """What the group's first message says about the rest of it."""

    members: int = 0
    latest_fired_at: datetime | None = None
    resolved: int = 0


def count_line(counts: GroupCounts) -> str | None:
    """"+41 similar in thread · latest 08:47 · 3 resolved" (UTC); None while the group is only its first alert."""
    if counts.members <= 0:
        return None
    parts = [f"+{counts.members} similar in thread"]
    if counts.latest_fired_at is not None:
        parts.append(f"latest {counts.latest_fired_at.astimezone(UTC):%H:%M}")
    if counts.resolved:
        parts.append(f"{counts.resolved} resolved")
    return " · ".join(parts)


def first_message_wait(receive_count: int) -> int:
    """Seconds a member waits for its first's message before looking again, at its `receive_count`-th receive."""
    return min(FIRST_MESSAGE_WAIT_MAX_SECONDS, FIRST_MESSAGE_WAIT_SECONDS * 2 ** max(0, min(receive_count, 20) - 1))


def refresh_interval(refreshes: int, first: float = COUNT_REFRESH_SECONDS) -> float:
    """How long after its `refreshes`-th refresh the count line may be refreshed again."""
    if first <= 0:
        return 0.0
    return float(min(COUNT_REFRESH_MAX_SECONDS, first * 2 ** max(0, refreshes - 1)))


def refresh_wait(next_at: float | None, now: float) -> float:
    """Seconds until the count line may be refreshed again (0: now)."""
    if next_at is None:
        return 0.0
    return max(0.0, next_at - now)
