"""Example digests for the tests of every tier that renders one (pure data, no I/O)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sre_slack.domain.digest_stats import DayCounts, Digest, build_digest

REPORT_DAY = date(2026, 11, 26)  # a Thursday


def counts(offset: int = 0, **fields: Any) -> DayCounts:
    """The counters of the day `offset` days before REPORT_DAY."""
    return DayCounts(day=REPORT_DAY - timedelta(days=offset), **fields)


def busy_day() -> Digest:
    """42 alerts against 30 the day before: every severity, namespaces beyond the top 3, risers, fallers, an
    alert type gone quiet, two clusters, ratings, and the day a week before recorded."""
    return build_digest(
        REPORT_DAY,
        [
            counts(
                0,
                total=42,
                by_severity={"critical": 5, "warning": 30, "info": 7},
                by_namespace={"payments": 20, "checkout": 12, "kube-system": 6, "ml": 2, "web": 1, "batch": 1},
                by_alert={"OOMKilled": 7, "KubePodCrashLooping": 30, "DiskPressure": 5},
                by_cluster={"prod-us": 30, "staging": 12},
                ratings={"accurate": 8, "partially_accurate": 3, "needs_improvement": 1},
            ),
            counts(
                1,
                total=30,
                by_severity={"critical": 3, "warning": 27},
                by_namespace={"payments": 10, "checkout": 20},
                by_alert={"OOMKilled": 3, "KubePodCrashLooping": 18, "DiskPressure": 8, "NodeNotReady": 1},
                by_cluster={"prod-us": 30},
            ),
            counts(7, total=20),
        ],
        top_namespaces=3,
    )
