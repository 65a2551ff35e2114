"""/notifications: the outbox (admin), and sending a failed message again."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.schemas import NotificationOut, NotificationQuery, Page
from tracker.services import notifications

TAGS = ("notifications",)


@api.get("/notifications")
@endpoint(right="admin", query=NotificationQuery, resp=Page[NotificationOut], tags=TAGS)
def list_notifications(query: NotificationQuery):
    """The outbox, newest first: each message's channel, status, attempts and last error."""
    return notifications.list_notifications(query)


@api.post("/notifications/<int:notification_id>/retry")
@endpoint(right="admin", resp=NotificationOut, tags=TAGS)
def retry_notification(notification_id: int):
    """Send a failed message again, with a fresh round of attempts."""
    return notifications.retry(notification_id, now=utcnow())
