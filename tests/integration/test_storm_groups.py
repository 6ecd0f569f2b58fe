"""Storm group items in DynamoDB (sre_slack.storage.groups) against moto: one first whatever the race, members
counted once, and the count line's refresh taken by one invocation at a time, later and later."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sre_slack.contracts.investigation import parse_investigation_message
from sre_slack.domain.grouping import group_for
from sre_slack.storage import groups
from tests.posting import example

TENANT = "t_acme"


def _inv(i: int):
    message = example(investigation_id=f"inv_{i}")
    return parse_investigation_message(json.dumps(message))


def _key():
    return groups.key_for(TENANT, group_for(_inv(0), "C0PROD", 10))


def test_concurrent_joins_agree_on_one_first(aws):
    key = _key()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: groups.join(key, _inv(i)), range(8)))
    assert len({a.first_id for a in answers}) == 1
    assert groups.get(key).first_id == answers[0].first_id


def test_members_count_once_however_often_they_are_added(aws):
    key = _key()
    groups.join(key, _inv(0))
    for i in (1, 2, 2, 3, 3, 3):
        groups.add_member(key, _inv(i))
    groups.add_resolved(key, "inv_2")
    groups.add_resolved(key, "inv_2")
    counts = groups.get(key).counts
    assert (counts.members, counts.resolved) == (3, 1)


def test_the_refresh_is_taken_once_per_interval_and_the_interval_grows(aws):
    key = _key()
    groups.join(key, _inv(0))
    assert groups.take_refresh(key, now=1000.0) == groups.Refresh()  # nothing changed yet
    groups.add_member(key, _inv(1))

    taken = groups.take_refresh(key, now=1000.0)
    assert taken.group is not None and taken.group.counts.members == 1
    groups.add_member(key, _inv(2))
    assert groups.take_refresh(key, now=1002.0).later == 3.0  # dirty, but refreshed 2 s ago: come back
    assert groups.take_refresh(key, now=1005.0).group is not None  # 5 s after the first refresh
    groups.add_member(key, _inv(3))
    assert groups.take_refresh(key, now=1011.0).later == 4.0  # the second interval is 10 s
    assert groups.take_refresh(key, now=1015.0).group.counts.members == 3
    assert groups.take_refresh(key, now=1100.0) == groups.Refresh()  # clean: nothing to do
