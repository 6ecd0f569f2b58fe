"""`make run`: the whole integration on one machine, no AWS account and no Slack workspace needed.

Starts moto's server, creates the resources template.yaml declares, a Slack stand-in (API + browser UI),
the HTTP API gateway serving the template's routes with the real handlers, the SQS pump, the stream pump (the
outbox publisher: outbound events onto the engine bus, which the sandbox subscribes to), and a tiny stand-in
for the portal's Install button. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from localdev.dev_portal import DevPortal
from localdev.moto_server import SerializedMotoServer
from localdev.sandbox import DEFAULT_TENANT, Ports, busy_ports, forget_running, record_running, start_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant id the local JWT claims carry")
    args = parser.parse_args()
    ports = Ports()
    busy = busy_ports(ports)
    if busy:
        raise SystemExit("\n".join(busy))

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log drowns the useful lines
    moto = SerializedMotoServer(port=ports.moto).start()
    sandbox = start_sandbox(ports, tenant_id=args.tenant)
    portal = DevPortal(port=ports.portal, gateway_url=sandbox.gateway_url, slack_ui_url=sandbox.slack.base_url).start()

    # `make enqueue` and `make digest` read the ports and the tenant back from here.
    record_running(ports, args.tenant)
    gw = sandbox.gateway_url
    print(f"""
Local Slack integration is running (tenant {args.tenant}).

  Portal stand-in (Install button)  http://localhost:{ports.portal}/
  Slack stand-in (channels, msgs)   {sandbox.slack.base_url}
  HTTP API (template routes)        {gw}
  AWS emulator (moto server)        http://127.0.0.1:{ports.moto}

Try it:
  1. open http://localhost:{ports.portal}/ and press "Add to Slack", then Allow
  2. curl -s {gw}/slack/installation
  3. curl -s {gw}/slack/channels
  4. curl -s -X PUT {gw}/routing -H 'content-type: application/json' \\
       -d '{{"default_channels": ["C0ALERTS"], "digest_channels": ["C0INCIDENTS"]}}'
  5. make enqueue EVENT=events/investigation_completed.json   (then look at the Slack stand-in)
     make enqueue EVENT=... NEW_ID=1                          (the same example as a new alert)
  6. curl -s -X POST {gw}/clusters/production-us-east/test   (Test Integration)
  7. click Acknowledge, a rating or ⋯ Re-investigate on a message, then: make engine-events

Ctrl-C to stop.
""", flush=True)

    stop = threading.Event()

    def on_signal(*_: object) -> None:
        if stop.is_set():  # a second Ctrl-C: leave at once
            forget_running()
            os._exit(130)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stop.wait()
    forget_running()
    print("stopping...", flush=True)

    def shutdown() -> None:
        portal.stop()
        sandbox.stop()
        moto.stop()

    stopper = threading.Thread(target=shutdown, daemon=True)
    stopper.start()
    # A browser's lingering keep-alive connection must not keep the sandbox (and its ports) alive after Ctrl-C.
    stopper.join(timeout=5)
    if stopper.is_alive():
        os._exit(0)


if __name__ == "__main__":
    main()
