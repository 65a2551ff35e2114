"""Notifications under faults, with real `tracker scheduler` processes and a real local
robot: kill -9 while messages are in flight loses none, and two replicas send each message
once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.factories import incident_body
from tests.notifications.receivers import Receiver
from tests.servers import CLI, environment, wait_until
from tracker.clock import utcnow
from tracker.models import Notification
from tracker.schemas import IncidentCreate
from tracker.services.incidents import create_incident

MESSAGES = 12


def _channels(url: str) -> list[dict]:
    return [
        {
            "name": "oncall",
            "kind": "wecom",
            "url": url,
            "events": ["incident.created"],
            "rate_per_minute": 600,
        }
    ]


@pytest.fixture
def receiver(request):
    with Receiver("wecom", **getattr(request, "param", {})) as running:
        yield running


@pytest.fixture
def settings_overrides(receiver):
    """The test's app queues messages for the channel the schedulers send to."""
    return {"notifications": {"channels": _channels(receiver.url)}}


def _env(data_dir: Path, database_url: str, receiver: Receiver) -> dict[str, str]:
    channels = _channels("env:TEST_ROBOT_URL")
    env = environment(
        data_dir,
        database_url=database_url,
        notifications_interval_seconds="1",
        notifications_timeout_seconds="5",
        notifications_channels=json.dumps(channels),
        rollup_interval_seconds="3600",
    )
    env["TEST_ROBOT_URL"] = receiver.url
    return env


@contextmanager
def _scheduler(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*CLI, "scheduler"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _queue(app, count: int) -> None:
    settings = app.extensions["tracker.settings"]
    for n in range(count):
        body = IncidentCreate.model_validate(incident_body(title=f"事件 {n}"))
        create_incident(
            body, actor="test", rules=settings.grading.rules(), now=utcnow(), settings=settings
        )


def _distinct(receiver: Receiver) -> Counter:
    """How often each message arrived (a robot's message has no delivery id: its text)."""
    return Counter(r.json["markdown"]["content"] for r in receiver.received)


def _all_sent() -> bool:
    return Notification.select().where(Notification.status == "sent").count() == MESSAGES


@pytest.mark.parametrize("receiver", [{"hang_first": 1, "hang_seconds": 30}], indirect=True)
def test_kill_9_while_messages_are_in_flight_loses_none(
    app, db, gateway, database_url, tmp_path, receiver
):
    env = _env(tmp_path / "a", database_url, receiver)
    _queue(app, MESSAGES)
    with _scheduler(env, tmp_path / "scheduler.log") as first:
        wait_until(lambda: receiver.attempts >= 1, 30, "the first send to begin")
        os.killpg(first.pid, signal.SIGKILL)
    assert Notification.select().where(Notification.status == "sent").count() == 0
    with _scheduler(env, tmp_path / "scheduler.log"):
        wait_until(_all_sent, 60, "every message to be sent after the restart")
    assert len(_distinct(receiver)) == MESSAGES and not receiver.problems


def test_two_replicas_send_each_message_once(app, db, gateway, database_url, tmp_path, receiver):
    _queue(app, MESSAGES)
    envs = [_env(tmp_path / name, database_url, receiver) for name in ("a", "b")]
    with _scheduler(envs[0], tmp_path / "a.log"), _scheduler(envs[1], tmp_path / "b.log"):
        wait_until(_all_sent, 60, "every message to be sent")
    assert len(receiver.received) == MESSAGES
    assert set(_distinct(receiver).values()) == {1}
