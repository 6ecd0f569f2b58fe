"""Exactly once under concurrency and interruption: two deliveries of one message at the same time, a retry
after an invocation died mid-post, an invocation without enough time left, and batches posted in parallel."""

from __future__ import annotations

import json
import threading
import time

from localdev.lambda_context import LambdaContext
from sre_slack.contracts.investigation import parse_investigation_message
from sre_slack.domain.delivery_policy import DeliveryStatus
from sre_slack.storage import investigations
from sre_slack.storage.investigations import InitialDelivery
from sre_slack.storage.ledger import Attempt
from tests.posting import (
    FUNCTION,
    TENANT,
    deliver,
    delivery,
    example,
    is_labelled_resend,
    lambda_event,
    setup_tenant,
)

INV = "inv_01JD4X8Y2Z"


def _invoke(functions, aws, event, *, timeout_seconds: float | None = None):
    """Call the handler directly (no local invocation lock), as two Lambda instances would run side by side."""
    context = LambdaContext.for_function(aws, FUNCTION)
    if timeout_seconds is not None:
        context = LambdaContext(function_name=context.function_name, memory_limit_in_mb=512,
                                invoked_function_arn=context.invoked_function_arn, timeout_seconds=timeout_seconds)
    return functions.handler(FUNCTION)(event, context)


def test_two_concurrent_deliveries_post_once(functions, slack, aws):
    setup_tenant(functions, slack)
    functions.handler(FUNCTION)  # both "instances" warm, so neither spends the race importing
    slack.set_latency(2.0, "chat.postMessage")  # keep the first post in flight while the second arrives
    events = [lambda_event(aws, example()), lambda_event(aws, example())]
    results: list[dict] = []
    start = threading.Barrier(2)

    def run(event):
        start.wait()
        results.append(_invoke(functions, aws, event))

    threads = [threading.Thread(target=run, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slack.messages("C0PROD")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1
    # One delivery did the work; the other backed off and its record comes back later.
    assert sorted(len(r["batchItemFailures"]) for r in results) == [0, 1]
    assert delivery(INV, "C0PROD")["status"] == "posted"

    slack.set_latency(0)
    deliver(aws, example())  # the backed-off copy, received again: nothing left to do
    assert len(slack.calls_to("chat.postMessage")) == 1


def _left_behind(lease_until: float) -> None:
    """What an invocation that claimed the channel and then died (Lambda timeout) leaves in DynamoDB."""
    inv = parse_investigation_message(json.dumps(example()))
    assert investigations.record_first_sighting(TENANT, inv, [InitialDelivery("C0PROD", DeliveryStatus.POSTING)],
                                                attempt=Attempt("dead-attempt", lease_until))


def test_retry_after_an_interrupted_post_posts_once_labelled_as_a_possible_duplicate(functions, slack, aws):
    setup_tenant(functions, slack)
    _left_behind(lease_until=time.time() - 1)
    [result] = deliver(aws, example())

    assert result.failed_ids == ()
    [message] = slack.messages("C0PROD")
    assert is_labelled_resend(message)  # the dead invocation may have posted before it died
    assert delivery(INV, "C0PROD")["status"] == "posted"


def test_retry_while_another_attempt_holds_the_lease_waits(functions, slack, aws):
    setup_tenant(functions, slack)
    _left_behind(lease_until=time.time() + 600)
    [result] = deliver(aws, example())

    assert result.failed_ids == result.message_ids
    assert slack.calls_to("chat.postMessage") == []
    assert delivery(INV, "C0PROD")["status"] == "posting"


def test_invocation_without_time_left_does_not_start_a_post(functions, slack, aws):
    setup_tenant(functions, slack)
    event = lambda_event(aws, example())
    answer = _invoke(functions, aws, event, timeout_seconds=3)

    # Too little time to claim, post and record: the record is not started at all, nothing is claimed, and it
    # comes back (after a second, not after the whole visibility timeout).
    assert len(answer["batchItemFailures"]) == 1
    assert slack.calls_to("chat.postMessage") == []
    assert delivery(INV, "C0PROD") is None

    _invoke(functions, aws, event)
    assert len(slack.messages("C0PROD")) == 1


def test_batch_of_investigations_posts_each_once(functions, slack, aws):
    channels = {f"C0CH{i}": {} for i in range(5)}
    setup_tenant(functions, slack, channels, routing={"default_channels": [], "routes": [
        {"cluster": f"cluster-{i}", "channels": [f"C0CH{i}"]} for i in range(5)]})
    messages = [example(investigation_id=f"inv_{i}", cluster=f"cluster-{i}") for i in range(5)]
    event = lambda_event(aws, *messages)
    answer = _invoke(functions, aws, event)

    assert answer["batchItemFailures"] == []
    for i in range(5):
        [message] = slack.messages(f"C0CH{i}")
        assert f"cluster-{i}" in message.text
    assert len(slack.calls_to("chat.postMessage")) == 5  # how much faster than one by one: bench/
