"""Follow-ups (DESIGN §11): the action items of an incident, who does them by when, and the
daily digest of the overdue ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import peewee
from playhouse.shortcuts import model_to_dict

from tracker.core.aftercare import FollowUpTally, is_overdue, local_today
from tracker.core.vocabulary import FOLLOW_UP_OPEN, UNCOUNTED_STATUSES
from tracker.db import database
from tracker.errors import Conflict, Invalid, NotFound
from tracker.models import FollowUp, Incident, State, utc_of
from tracker.schemas import FollowUpCreate, FollowUpOut, FollowUpPatch, FollowUpQuery, Page
from tracker.services import audit, notifications
from tracker.services.paging import paginate
from tracker.settings import Settings

EARLIEST_DUE = date(1970, 1, 1)
LATEST_AHEAD = timedelta(days=2 * 366)  # due dates may lie ahead up to 2 years (DESIGN §3)
DIGESTED = "follow_ups.digested"  # the local date of the last overdue digest queued


def _incident(incident_id: int) -> Incident:
    incident = Incident.get_or_none(Incident.id == incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


def _due_checked(due_on: date, *, now: datetime, zone: ZoneInfo) -> date:
    latest = local_today(now, zone) + LATEST_AHEAD
    if not EARLIEST_DUE <= due_on <= latest:
        raise Invalid.one(
            "due_on",
            f"must lie between {EARLIEST_DUE.isoformat()} and {latest.isoformat()}",
            "error.due_on_range",
            earliest=EARLIEST_DUE.isoformat(),
            latest=latest.isoformat(),
        )
    return due_on


def view(row: FollowUp | dict, *, title: str, today: date) -> FollowUpOut:
    values = row if isinstance(row, dict) else model_to_dict(row, recurse=False)
    incident_id = values["incident"] if "incident" in values else values["incident_id"]
    return FollowUpOut.model_validate(
        {
            **values,
            "incident_id": incident_id,
            "incident_title": title,
            "overdue": is_overdue(values["status"], values["due_on"], today),
        }
    )


def _audited(out: FollowUpOut) -> dict:
    return out.model_dump(mode="json", exclude={"overdue", "incident_title", "updated_at"})


def create_follow_up(
    incident_id: int, data: FollowUpCreate, *, actor: str, now: datetime, settings: Settings
) -> FollowUpOut:
    """A follow-up of a record that counts: a draft from alerts is accepted first (its
    follow-ups would outlive a dismissal), and a cancelled record has none to do (409)."""
    zone = settings.zone
    with database.atomic():
        incident = _incident(incident_id)
        if incident.status in UNCOUNTED_STATUSES:
            kind = "a draft (accept it first)" if incident.status == "triage" else "cancelled"
            raise Conflict(f"incident {incident_id} is {kind}: it takes no follow-ups")
        values = data.model_dump()
        values["due_on"] = _due_checked(values["due_on"], now=now, zone=zone)
        values["url"] = None if values["url"] is None else str(values["url"])
        done_at = now if values["status"] == "done" else None
        row = FollowUp.create(
            incident=incident.id,
            **values,
            done_at=done_at,
            created_at=now,
            updated_at=now,
            created_by=actor,
        )
        out = view(row, title=incident.title, today=local_today(now, zone))
        audit.record(
            "create", "follow_up", row.id, before=None, after=_audited(out), actor=actor, now=now
        )
    return out


def update_follow_up(
    follow_up_id: int, patch: FollowUpPatch, *, actor: str, now: datetime, settings: Settings
) -> FollowUpOut:
    """Apply the fields sent; done stamps `done_at`, reopening clears it."""
    changes = patch.changes()
    zone, today = settings.zone, local_today(now, settings.zone)
    with database.atomic():
        row = FollowUp.get_or_none(FollowUp.id == follow_up_id)
        if row is None:
            raise NotFound(f"no follow-up {follow_up_id}")
        title = row.incident.title
        before = view(row, title=title, today=today)
        if "due_on" in changes:
            changes["due_on"] = _due_checked(changes["due_on"], now=now, zone=zone)
        if changes.get("url") is not None:
            changes["url"] = str(changes["url"])
        status = changes.get("status", row.status)
        if status == "done" and row.status != "done":
            changes["done_at"] = now
        elif status != "done":
            changes["done_at"] = None
        merged = {**model_to_dict(row, recurse=False), **changes}
        after = view(merged, title=title, today=today)
        if audit.record_update(
            "follow_up",
            row.id,
            before=_audited(before),
            after=_audited(after),
            actor=actor,
            now=now,
        ):
            changes["updated_at"] = now
            FollowUp.update(**changes).where(FollowUp.id == row.id).execute()
            after = after.model_copy(update={"updated_at": now})
    return after


def _query() -> peewee.ModelSelect:
    return FollowUp.select(FollowUp, Incident.title.alias("incident_title")).join(Incident)


def follow_ups_of(incident_id: int, *, now: datetime, zone: ZoneInfo) -> list[FollowUpOut]:
    """An incident's follow-ups: the open ones first, each by its due date."""
    incident = _incident(incident_id)
    rows = FollowUp.select().where(FollowUp.incident == incident.id)
    order = peewee.Case(None, [(FollowUp.status.in_(FOLLOW_UP_OPEN), 0)], 1)
    today = local_today(now, zone)
    return [
        view(r, title=incident.title, today=today)
        for r in rows.order_by(order, FollowUp.due_on, FollowUp.id)
    ]


def list_follow_ups(
    query: FollowUpQuery,
    *,
    now: datetime,
    zone: ZoneInfo,
    statuses: Sequence[str] | None = None,
) -> Page[FollowUpOut]:
    """Follow-ups by due date, the earliest (so the overdue ones) first; `owner` is matched
    exactly, `overdue=true` keeps those open or in progress and due before today, `statuses`
    (the 待办 page's default) any of these."""
    today = local_today(now, zone)
    rows = _query()
    if statuses is not None:
        rows = rows.where(FollowUp.status.in_(list(statuses)))
    if query.status is not None:
        rows = rows.where(FollowUp.status == query.status)
    if query.owner is not None:
        rows = rows.where(FollowUp.owner == query.owner)
    if query.overdue is not None:
        late = FollowUp.status.in_(FOLLOW_UP_OPEN) & (FollowUp.due_on < today)
        rows = rows.where(late if query.overdue else ~late)
    rows = rows.order_by(FollowUp.due_on, FollowUp.id).dicts()

    def after(q: peewee.ModelSelect, values: list) -> peewee.ModelSelect:
        due = date.fromisoformat(values[0])
        return q.where(
            (FollowUp.due_on > due) | ((FollowUp.due_on == due) & (FollowUp.id > int(values[1])))
        )

    page = paginate(
        rows, query, key=lambda r: [r["due_on"].isoformat(), r["id"]], after=after, arity=2
    )
    return page.map(lambda r: view(r, title=r["incident_title"], today=today))


def counts(*, now: datetime, zone: ZoneInfo) -> dict[str, int]:
    """How many are open (or in progress), and how many of those are overdue."""
    today = local_today(now, zone)
    waiting = FollowUp.select().where(FollowUp.status.in_(FOLLOW_UP_OPEN))
    return {
        "open": waiting.count(),
        "overdue": waiting.where(FollowUp.due_on < today).count(),
    }


def overdue_by_owner(*, now: datetime, zone: ZoneInfo) -> dict[str, list[FollowUpOut]]:
    """Every overdue follow-up, grouped by owner (owners in name order, items by due date)."""
    today = local_today(now, zone)
    rows = (
        _query()
        .where(FollowUp.status.in_(FOLLOW_UP_OPEN) & (FollowUp.due_on < today))
        .order_by(FollowUp.owner, FollowUp.due_on, FollowUp.id)
        .dicts()
    )
    grouped: dict[str, list[FollowUpOut]] = {}
    for r in rows:
        grouped.setdefault(r["owner"], []).append(view(r, title=r["incident_title"], today=today))
    return grouped


def send_digest(*, now: datetime, settings: Settings) -> int:
    """Queue the day's `followup.overdue` digest, one message per owner with overdue items,
    once per local day (the scheduler's job runs at `follow_ups.remind_at`). Returns how
    many messages were queued."""
    zone = settings.zone
    today = local_today(now, zone).isoformat()
    with database.atomic():
        done = State.value_of(DIGESTED)
        if done is not None and done >= today:
            return 0
        queued = sum(
            notifications.follow_up_event(owner, items, now=now, settings=settings)
            for owner, items in overdue_by_owner(now=now, zone=zone).items()
        )
        State.insert(key=DIGESTED, value=today).on_conflict(
            conflict_target=[State.key], update={State.value: today}
        ).execute()
    return queued


def tally(since: datetime, until: datetime, *, zone: ZoneInfo) -> FollowUpTally:
    """The follow-ups of [since, until): opened, done, and due in it but not done by their
    due date (done later or still open; `wont_do` ones are not counted)."""
    first = since.astimezone(zone).date()
    end = (until - timedelta(microseconds=1)).astimezone(zone).date()
    today = local_today(until, zone)
    opened = FollowUp.select().where((FollowUp.created_at >= since) & (FollowUp.created_at < until))
    done = FollowUp.select().where(
        (FollowUp.status == "done") & (FollowUp.done_at >= since) & (FollowUp.done_at < until)
    )
    due = FollowUp.select(FollowUp.status, FollowUp.due_on, FollowUp.done_at).where(
        (FollowUp.due_on >= first) & (FollowUp.due_on <= end) & (FollowUp.status != "wont_do")
    )
    late = 0
    for status, due_on, done_at in due.tuples():
        if status == "done":
            late += utc_of(done_at).astimezone(zone).date() > due_on
        else:
            late += due_on < today
    return FollowUpTally(opened.count(), done.count(), late)
