"""Notifications (DESIGN §10). `outbox` turns events into messages in the transaction of
the change that causes them; `delivery` sends them, once across replicas, within each
channel's rate, with retries. The formats live in `tracker.core.notifications`, the
senders in `tracker.channels`."""

from tracker.services.notifications.delivery import (
    channel_named,
    counts,
    list_notifications,
    pending,
    prune,
    retry,
    send_pending,
    send_test,
)
from tracker.services.notifications.outbox import (
    dip_event,
    follow_up_event,
    incident_event,
    review_event,
    wants,
)

__all__ = [
    "channel_named",
    "counts",
    "dip_event",
    "follow_up_event",
    "incident_event",
    "list_notifications",
    "pending",
    "prune",
    "retry",
    "review_event",
    "send_pending",
    "send_test",
    "wants",
]
