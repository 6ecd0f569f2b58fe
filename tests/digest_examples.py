"""Example digests for the tests of every tier that renders one (pure data, no I/O)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sre_slack.domain.digest_stats import DayCounts, Digest, Resolution, build_digest

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
                by_signature={("prod-us", "KubePodCrashLooping", "payments"): 18,
                              ("staging", "KubePodCrashLooping", "checkout"): 12,
                              ("prod-us", "OOMKilled", "payments"): 2, ("prod-us", "DiskPressure", None): 5,
                              ("prod-us", "OOMKilled", "kube-system"): 4},
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
        # resolved on the report day: 4 min, 14 min, 1 h 2 min -> median 14 min, longest 1 h 2 min
        resolutions=[Resolution("inv_1", 240, "OOMKilled"), Resolution("inv_2", 3720, "KubePodCrashLooping"),
                     Resolution("inv_3", 840, "DiskPressure")],
    )
