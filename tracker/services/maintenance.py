"""Maintenance windows: announced time that availability does not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.db import database
from tracker.errors import FieldError, Invalid
from tracker.models import MaintenanceWindow, Service
from tracker.schemas import MaintenanceCreate, MaintenanceOut, MaintenanceQuery
from tracker.services import audit
from tracker.services.paging import Page, paginate

ALL = "all"


def counts_as_maintenance(window: MaintenanceWindow, *, notice_hours: float) -> bool:
    """Only maintenance announced at least `notice_hours` before it starts is excluded."""
    return window.announced_at <= window.starts_at - timedelta(hours=notice_hours)


def _view(window: MaintenanceWindow, *, notice_hours: float) -> MaintenanceOut:
    return MaintenanceOut.model_validate(
        {
            **window.__data__,
            "counts_as_maintenance": counts_as_maintenance(window, notice_hours=notice_hours),
        }
    )


def _check(data: MaintenanceCreate, *, now: datetime) -> None:
    errors = []
    if data.ends_at <= data.starts_at:
        errors.append(FieldError("ends_at", "must be after starts_at"))
    if data.announced_at > now + timedelta(minutes=5):
        errors.append(FieldError("announced_at", "is in the future"))
    if ALL in data.services and len(data.services) > 1:
        errors.append(FieldError("services", '"all" stands alone'))
    elif ALL not in data.services:
        known = {s.key for s in Service.by_keys(data.services)}
        errors += [
            FieldError(f"services[{i}]", f"no service {key!r}")
            for i, key in enumerate(data.services)
            if key not in known
        ]
    if errors:
        raise Invalid(errors)


def create_window(
    data: MaintenanceCreate, *, actor: str, now: datetime, notice_hours: float
) -> MaintenanceOut:
    with database.atomic():
        _check(data, now=now)
        window = MaintenanceWindow.create(
            services=data.services,
            starts_at=data.starts_at.astimezone(UTC),
            ends_at=data.ends_at.astimezone(UTC),
            reason=data.reason,
            announced_at=data.announced_at.astimezone(UTC),
            created_at=now,
            created_by=actor,
        )
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
