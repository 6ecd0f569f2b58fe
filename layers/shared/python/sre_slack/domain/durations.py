"""How long something took, as a reader wants it: the digest's time to resolve and an alert's "Resolved after"."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: int) -> str:
    """'45 s', '14 min', '3 h 20 min', '2 d 4 h': two units at most, the smaller rounded down."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days:,} d {hours} h" if hours else f"{days:,} d"


def duration_between(start: datetime, end: datetime) -> str:
    """`duration` from `start` to `end`; "less than a minute" below one, never negative (two systems' clocks)."""
    seconds = max(0, int((end - start).total_seconds()))
    return "less than a minute" if seconds < 60 else duration(seconds)
