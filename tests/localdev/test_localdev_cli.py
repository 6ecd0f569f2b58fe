"""What a newcomer meets around `make run`: the CLIs start from a plain checkout, reach the sandbox on the ports
it was started with, and say in one line what is wrong (no sandbox, a bad EVENT file, a port in use) or what a
message will do (a redelivery of an investigation already posted)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localdev import digest_cli, enqueue
from localdev import sandbox as sandbox_module
from localdev.aws import DEFAULT_STACK_NAME, deploy
from localdev.sandbox import (
    Ports,
    RunningSandbox,
    SandboxNotRunning,
    busy_ports,
    record_running,
    running_sandbox,
)
from localdev.template import REPO_ROOT, Template
from tests.posting import TENANT, deliver, example, setup_tenant

EVENTS = REPO_ROOT / "events"
NO_SANDBOX_VARIABLES = ("LOCAL_GATEWAY_PORT", "LOCAL_SLACK_PORT", "LOCAL_PORTAL_PORT", "LOCAL_MOTO_PORT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def no_running_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No `make run` of this checkout is seen, whatever runs on this machine."""
    path = tmp_path / "sandbox.json"
    monkeypatch.setattr(sandbox_module, "RUNNING_FILE", path)
    for name in NO_SANDBOX_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """connect_to_running_sandbox sets these for the process; the test restores them."""
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "TABLE_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ.get(name, "unset"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


# ------------------------------------------------------------------------------------------------ starting


@pytest.mark.parametrize("module", ["localdev.run", "localdev.enqueue", "localdev.digest_cli"])
def test_the_clis_start_from_a_plain_checkout(module: str) -> None:
    # `make run` runs `python -m localdev.run` with no PYTHONPATH: sre_slack must be found all the same.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_a_port_in_use_names_the_variable_that_moves_it() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = Ports(gateway=free_port(), slack=free_port(), portal=free_port(), moto=taken)
        [line] = busy_ports(ports)
    assert f"port {taken}" in line and f"LOCAL_MOTO_PORT={taken + 100} make run" in line
    assert busy_ports(Ports(gateway=free_port(), slack=free_port(), portal=free_port(), moto=free_port())) == []


# ------------------------------------------------------------------------------------------------ finding it


def test_the_clis_use_the_ports_and_tenant_make_run_recorded(no_running_file: Path) -> None:
    ports = Ports(gateway=4000, slack=4001, portal=4002, moto=5999)
    record_running(ports, "t_other", no_running_file)
    assert running_sandbox(no_running_file, environ={}) == RunningSandbox(ports, "t_other", "make run")
    # A port set for this command wins over the recorded one.
    found = running_sandbox(no_running_file, environ={"LOCAL_MOTO_PORT": "6001"})
    assert (found.ports.moto, found.ports.gateway, found.source) == (6001, 4000, "environment")


def test_a_file_left_by_a_sandbox_that_died_is_ignored(no_running_file: Path) -> None:
    record_running(Ports(gateway=4000, slack=4001, portal=4002, moto=5999), "t_other", no_running_file)
    document = json.loads(no_running_file.read_text())
    no_running_file.write_text(json.dumps({**document, "pid": 2**30}))  # no such process
    assert running_sandbox(no_running_file, environ={}) == RunningSandbox(Ports(3000, 3001, 3002, 5005))


# ------------------------------------------------------------------------------------------------ one line


def test_without_a_sandbox_enqueue_and_digest_say_so_in_one_line(no_running_file: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("LOCAL_MOTO_PORT", str(port))
    expected = f"the local sandbox is not running on 127.0.0.1:{port} (LOCAL_MOTO_PORT): start it with `make run`"
    with pytest.raises(SandboxNotRunning) as raised:
        enqueue.main([str(EVENTS / "investigation_completed.json")])
    assert str(raised.value) == expected
    with pytest.raises(SandboxNotRunning) as raised:
        digest_cli.main(["--day", "2026-11-26"])
    assert str(raised.value) == expected


@pytest.mark.parametrize(("content", "says"), [
    (None, "no such file (EVENT= names a JSON message"),
    ('{"version": "1",', "not JSON (Expecting"),
    ("", "not JSON (Expecting value at line 1, column 1)"),
    ('["investigation.completed"]', "not a JSON object"),
])
def test_a_bad_event_file_is_one_line_before_anything_is_sent(no_running_file: Path, tmp_path: Path,
                                                                content: str | None, says: str) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(enqueue.BadEventFile) as raised:
        enqueue.main([str(EVENTS / "investigation_completed.json"), str(path)])
    message = str(raised.value)
    assert message.startswith(f"enqueue: {path}: ") and says in message and "\n" not in message


# ------------------------------------------------------------------------------------------------ what will happen


def test_a_redelivery_of_an_investigation_already_posted_says_so(functions, slack, aws):
    setup_tenant(functions, slack)
    message = example(tenant_id=TENANT)
    assert enqueue.what_will_happen(TENANT, message) is None  # a new investigation: posted as usual
    deliver(aws, message)

    same = enqueue.what_will_happen(TENANT, message)
    assert same is not None
    assert "inv_01JD4X8Y2Z was already posted (C0PROD posted)" in same
    assert "redelivery of the same content, nothing new will appear" in same and "NEW_ID=1" in same
    changed = enqueue.what_will_happen(TENANT, {**message, "root_cause": "something else"})
    assert changed is not None and "changed content" in changed and "updated in place" in changed
    assert enqueue.what_will_happen(TENANT, {**message, "investigation_id": "inv_new"}) is None


def test_what_an_alert_resolved_will_do(functions, slack, aws):
    setup_tenant(functions, slack)
    resolved = example("alert_resolved", tenant_id=TENANT)
    assert "was never posted" in (enqueue.what_will_happen(TENANT, resolved) or "")
    deliver(aws, example(tenant_id=TENANT))
    assert enqueue.what_will_happen(TENANT, resolved) is None
    deliver(aws, resolved)
    assert "already resolved" in (enqueue.what_will_happen(TENANT, resolved) or "")


def test_a_message_outside_the_contract_is_said_to_go_to_the_dead_letter_queue(functions, slack, aws):
    note = enqueue.what_will_happen(TENANT, {**example(tenant_id=TENANT), "version": 1})
    assert note is not None and "dead-letter queue" in note and "version" in note


# ------------------------------------------------------------------------------------------------ end to end


@pytest.fixture
def moto_sandbox(no_running_file: Path, sandbox_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A moto server holding the sandbox's resources, recorded as `make run` records it (other ports)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        port = int(server.get_host_and_port()[1])
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        deploy(Template.load(), stack_name=DEFAULT_STACK_NAME, parameters={
            "PortalUrl": "http://localhost:3002", "JwtIssuer": "https://idp.local/", "JwtAudience": "sre-portal"})
        record_running(Ports(gateway=free_port(), slack=free_port(), portal=free_port(), moto=port), "t_recorded",
                       no_running_file)
        yield port
    finally:
        server.stop()


def test_enqueue_reaches_the_sandbox_on_its_recorded_port_with_its_tenant(moto_sandbox: int,
                                                                          capsys: pytest.CaptureFixture) -> None:
    assert enqueue.main([str(EVENTS / "investigation_completed.json")]) == 0
    out = capsys.readouterr().out
    assert out == ("enqueued investigation.completed inv_01JD4X8Y2Z for t_recorded from "
                   f"{EVENTS / 'investigation_completed.json'}\n")
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{moto_sandbox}")
    url = sqs.get_queue_url(QueueName=f"{DEFAULT_STACK_NAME}-InvestigationQueue")["QueueUrl"]
    [received] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(received["Body"])["tenant_id"] == "t_recorded"
