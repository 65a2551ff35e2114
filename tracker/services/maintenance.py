"""Maintenance windows: announced time that availability does not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playhouse.shortcuts import model_to_dict

from tracker.core.incidents import FUTURE_TOLERANCE
from tracker.core.vocabulary import ALL
from tracker.db import database
from tracker.errors import FieldError, Invalid, NotFound
from tracker.models import MaintenanceWindow, Service
from tracker.schemas import (
    MaintenanceCreate,
    MaintenanceOut,
    MaintenancePatch,
    MaintenanceQuery,
    Page,
)
from tracker.services import audit
from tracker.services.paging import paginate

PLANNED_AHEAD = timedelta(days=2 * 366)  # maintenance may be announced up to two years ahead
UTC_FIELDS = ("starts_at", "ends_at", "announced_at")


def counts_as_maintenance(window: MaintenanceWindow, *, notice_hours: float) -> bool:
    """Only maintenance announced at least `notice_hours` before it starts, and not called
    off, is excluded."""
    if window.cancelled_at is not None:
        return False
    return window.announced_at <= window.starts_at - timedelta(hours=notice_hours)


def _view(window: MaintenanceWindow, *, notice_hours: float) -> MaintenanceOut:
    return MaintenanceOut.model_validate(
        {
            **model_to_dict(window),
            "counts_as_maintenance": counts_as_maintenance(window, notice_hours=notice_hours),
        }
    )


def _check(values: dict[str, Any], *, now: datetime) -> None:
    errors = []
    if values["ends_at"] <= values["starts_at"]:
        errors.append(FieldError("ends_at", "must be after starts_at", "error.ends_before_start"))
    if values["announced_at"] > now + FUTURE_TOLERANCE:
        errors.append(FieldError("announced_at", "is in the future", "error.announced_in_future"))
    if values["ends_at"] > now + PLANNED_AHEAD:
        errors.append(
            FieldError("ends_at", "must lie within two years from now", "error.too_far_ahead")
        )
    services = values["services"]
    if ALL in services and len(services) > 1:
        errors.append(FieldError("services", '"all" stands alone', "error.all_alone"))
    elif ALL not in services:
        known = {s.key for s in Service.by_keys(services)}
        errors += [
            FieldError(f"services[{i}]", f"no service {key!r}", "error.no_service", {"key": key})
            for i, key in enumerate(services)
            if key not in known
        ]
    if errors:
        raise Invalid(errors)


def _in_utc(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.astimezone(UTC) if k in UTC_FIELDS else v for k, v in values.items()}


def _load(window_id: int) -> MaintenanceWindow:
    window = MaintenanceWindow.get_or_none(MaintenanceWindow.id == window_id)
    if window is None:
        raise NotFound(f"no maintenance window {window_id}")
    return window


def get_window(window_id: int, *, notice_hours: float) -> MaintenanceOut:
    return _view(_load(window_id), notice_hours=notice_hours)


def create_window(
    data: MaintenanceCreate, *, actor: str, now: datetime, notice_hours: float
) -> MaintenanceOut:
    values = _in_utc(data.model_dump())
    with database.atomic():
        _check(values, now=now)
        window = MaintenanceWindow.create(**values, created_at=now, created_by=actor)
        out = _view(window, notice_hours=notice_hours)
        audit.record(
            "create",
            "maintenance_window",
            window.id,
            before=None,
            after=out.model_dump(mode="json"),
            actor=actor,
            now=now,
        )
    return out


def update_window(
    window_id: int, patch: MaintenancePatch, *, actor: str, now: datetime, notice_hours: float
) -> MaintenanceOut:
    """Change the fields sent; the rules are checked against the merged window."""
    with database.atomic():
        window = _load(window_id)
        if window.cancelled_at is not None:
            raise Invalid.one("id", "the window is cancelled; announce a new one")
        before = _view(window, notice_hours=notice_hours).model_dump(mode="json")
        merged = {**model_to_dict(window), **_in_utc(patch.changes())}
        _check(merged, now=now)
        for name in patch.model_fields_set:
            setattr(window, name, merged[name])
        after = _view(window, notice_hours=notice_hours).model_dump(mode="json")
        if audit.record_update(
            "maintenance_window", window.id, before=before, after=after, actor=actor, now=now
        ):
            window.save()
    return _view(window, notice_hours=notice_hours)


def cancel_window(
    window_id: int, *, actor: str, now: datetime, notice_hours: float
) -> MaintenanceOut:
    """Call a window off: it no longer takes time out of availability (cancelling twice is
    harmless)."""
    with database.atomic():
        window = _load(window_id)
        if window.cancelled_at is None:
            before = _view(window, notice_hours=notice_hours).model_dump(mode="json")
            window.cancelled_at, window.cancelled_by = now, actor
            window.save()
            after = _view(window, notice_hours=notice_hours).model_dump(mode="json")
            audit.record_update(
                "maintenance_window",
                window.id,
                before=before,
                after=after,
                actor=actor,
                now=now,
                action="cancel",
            )
    return _view(window, notice_hours=notice_hours)


def list_windows(query: MaintenanceQuery, *, notice_hours: float) -> Page[MaintenanceOut]:
    """Newest first by start."""
    rows = MaintenanceWindow.overlapping(query.since, query.until).order_by(
        MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc()
    )
    page = paginate(
        rows,
        query,
        key=lambda w: [w.starts_at.isoformat(), w.id],
        after=lambda q, v: q.where(
            (MaintenanceWindow.starts_at < datetime.fromisoformat(v[0]))
            | (
                (MaintenanceWindow.starts_at == datetime.fromisoformat(v[0]))
                & (MaintenanceWindow.id < int(v[1]))
            )
        ),
        arity=2,
    )
    return page.map(lambda w: _view(w, notice_hours=notice_hours))
