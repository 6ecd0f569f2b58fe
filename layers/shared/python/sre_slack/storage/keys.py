"""DynamoDB key layout of SlackTable (docs/ARCHITECTURE.md). Nothing else builds keys."""

from __future__ import annotations

from datetime import date

INSTALLATION_SK = "CONFIG#INSTALLATION"
ROUTING_SK = "CONFIG#ROUTING"
CONFIG_PREFIX = "CONFIG#"
CHANNEL_HEALTH_PREFIX = "CONFIG#CHANNEL#"
SEEN_SK = "SEEN"
DELIVERY_PREFIX = "DELIVERY#"
FEEDBACK_PREFIX = "FEEDBACK#"
ACK_SK = "ACK"
OUTBOX_PREFIX = "OUTBOX#"
NOTE_PREFIX = "NOTE#"
WINDOW_PREFIX = "WINDOW#"
DAY_PREFIX = "DAY#"

BY_TEAM_INDEX = "ByTeam"
ACTIVE_INDEX = "ActiveInstallations"
ACTIVE_MARKER = "1"


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def tenant_from_pk(pk: str) -> str:
    return pk.removeprefix("TENANT#").split("#", 1)[0]


def installation_key(tenant_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": INSTALLATION_SK}


def routing_key(tenant_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": ROUTING_SK}


def channel_health_key(tenant_id: str, channel_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": f"{CHANNEL_HEALTH_PREFIX}{channel_id}"}


def investigation_pk(tenant_id: str, investigation_id: str) -> str:
    return f"TENANT#{tenant_id}#INV#{investigation_id}"


def seen_key(tenant_id: str, investigation_id: str) -> dict[str, str]:
    return {"pk": investigation_pk(tenant_id, investigation_id), "sk": SEEN_SK}


def delivery_key(tenant_id: str, investigation_id: str, channel_id: str) -> dict[str, str]:
    return {"pk": investigation_pk(tenant_id, investigation_id), "sk": f"{DELIVERY_PREFIX}{channel_id}"}


def note_key(tenant_id: str, investigation_id: str, channel_id: str, note: str) -> dict[str, str]:
    """A thread reply about the investigation (revised, resolved): its own ledger delivery."""
    return {"pk": investigation_pk(tenant_id, investigation_id), "sk": f"{NOTE_PREFIX}{channel_id}#{note}"}


def group_key(tenant_id: str, identity: str, window_start: str, escalated: str | None = None) -> dict[str, str]:
    """A storm group of one channel (identity: a hash of channel, cluster, alert and namespace)."""
    sk = f"{WINDOW_PREFIX}{window_start}" + (f"#ESCALATED#{escalated}" if escalated else "")
    return {"pk": f"TENANT#{tenant_id}#GROUP#{identity}", "sk": sk}


def feedback_key(tenant_id: str, investigation_id: str, user_id: str) -> dict[str, str]:
    return {"pk": investigation_pk(tenant_id, investigation_id), "sk": f"{FEEDBACK_PREFIX}{user_id}"}


def ack_key(tenant_id: str, investigation_id: str) -> dict[str, str]:
    return {"pk": investigation_pk(tenant_id, investigation_id), "sk": ACK_SK}


def outbox_key(tenant_id: str, investigation_id: str, event_id: str) -> dict[str, str]:
    return {"pk": investigation_pk(tenant_id, investigation_id), "sk": f"{OUTBOX_PREFIX}{event_id}"}


def counts_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#COUNTS"


def day_sk(day: date) -> str:
    return f"{DAY_PREFIX}{day.isoformat()}"


def counts_key(tenant_id: str, day: date) -> dict[str, str]:
    return {"pk": counts_pk(tenant_id), "sk": day_sk(day)}


def resolutions_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#RESOLVED"


def resolution_key(tenant_id: str, day: date, investigation_id: str) -> dict[str, str]:
    """One resolved investigation under the UTC day of its resolve: a day's rows are one Query (`DAY#<day>#`)."""
    return {"pk": resolutions_pk(tenant_id), "sk": f"{day_sk(day)}#INV#{investigation_id}"}


def digest_marker_key(tenant_id: str, day: date, channel_id: str) -> dict[str, str]:
    return {"pk": f"TENANT#{tenant_id}#DIGEST", "sk": f"{day_sk(day)}#CHANNEL#{channel_id}"}


def oauth_state_key(state: str) -> dict[str, str]:
    return {"pk": f"OAUTHSTATE#{state}", "sk": "STATE"}
