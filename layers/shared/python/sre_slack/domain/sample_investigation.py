"""The sample investigation that Test Integration enqueues: realistic, so the team sees what a real alert
will look like in their channel, and marked `test: true`, so it says it is a test and is never counted."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sre_slack.contracts.investigation import InvestigationCompleted, Severity


def new_test_investigation_id() -> str:
    # Unique per click (each test is its own message); sortable by time for whoever reads the records.
    return f"test_{int(time.time() * 1000):x}{secrets.token_hex(4)}"


def sample_investigation(tenant_id: str, cluster: str, *, severity: Severity, workspace: str | None = None,
                         investigation_id: str | None = None, portal_url: str | None = None,
                         now: datetime | None = None) -> dict[str, Any]:
    """The queue message (CONTRACT.md, version 1) of a sample investigation for `cluster`."""
    fired_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    investigation_id = investigation_id or new_test_investigation_id()
    message: dict[str, Any] = {
        "version": "1",
        "type": "investigation.completed",
        "investigation_id": investigation_id,
        "tenant_id": tenant_id,
        "cluster": cluster,
        "workspace": workspace,
        "alert": {
            "name": "KubePodCrashLooping",
            "severity": severity,
            "namespace": "sample-app",
            "summary": "Sample alert: pod sample-app/web-5d8f7 is restarting every 40 s",
            "fired_at": fired_at.isoformat().replace("+00:00", "Z"),
            "labels": {"pod": "web-5d8f7", "source": "test-integration"},
        },
        "root_cause": ("This is what a root cause will look like. In this sample, the last rollout lowered the "
                       "memory limit to 128Mi while the process needs about 300Mi, so the container is "
                       "OOMKilled on start."),
        "confidence": "high",
        "affected_resources": [
            {"kind": "Deployment", "namespace": "sample-app", "name": "web", "status": "1/3 ready"},
            {"kind": "Pod", "namespace": "sample-app", "name": "web-5d8f7", "status": "CrashLoopBackOff"},
        ],
        "recommended_actions": [
            {"title": "Inspect the last termination", "command": "kubectl describe pod web-5d8f7 -n sample-app"},
            {"title": "Roll back to the previous revision",
             "command": "kubectl rollout undo deployment/web -n sample-app"},
        ],
        "test": True,
    }
    if portal_url:
        message["portal_url"] = portal_url
    # The sample goes through the same validation as a real message before it is enqueued.
    InvestigationCompleted.model_validate(message)
    return message
