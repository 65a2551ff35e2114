"""Incidents (production events) and their timelines."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import peewee
from playhouse.shortcuts import model_to_dict

from tracker.core.aftercare import report_deadline
from tracker.core.grading import (
    GradingRules,
    IncidentFacts,
    Suggestion,
    moves_with_time,
    suggest_grade,
)
from tracker.core.incidents import (
    FUTURE_TOLERANCE,
    TIME_FIELDS,
    attributed_weight,
    grade_reason_errors,
    status_errors,
    time_errors,
)
from tracker.core.vocabulary import APPROVED_FIELDS, GRADE_GROUPS, UNCOUNTED_STATUSES
from tracker.db import Prepared, RowReader, TooSlow, database, exclusive, slot, time_limit
from tracker.errors import FieldError, Invalid, NotFound
from tracker.models import (
    Incident,
    IncidentService,
    MoneyField,
    Service,
    TimelineEntry,
    services_by_incident,
    utc_of,
)
from tracker.schemas import (
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    IncidentQuery,
    IncidentRecord,
    Page,
    RawJson,
    TimelineCreate,
    TimelineOut,
    json_bytes,
)
from tracker.services import approvals, audit, notifications
from tracker.services.paging import paged
from tracker.settings import Settings

SEARCH_SECONDS = 3


def _tiers(keys: Iterable[str]) -> dict[str, int]:
    """The tiers of these services (what the suggestion weighs minutes by)."""
    return {s.key: s.tier for s in Service.by_keys(keys)}


def _suggestion(
    values: Mapping[str, Any],
    keys: Iterable[str],
    tiers: Mapping[str, int],
    *,
    rules: GradingRules,
    now: datetime,
) -> Suggestion:
    facts = IncidentFacts(
        impact_started_at=values["impact_started_at"],
        impact_ended_at=values.get("mitigated_at") or values.get("resolved_at"),
        impact_ratio=values["impact_ratio"],
        counts_toward_availability=values["counts_toward_availability"],
        most_critical_tier=min((tiers.get(k, 3) for k in keys), default=3),
        affected_amount=values.get("affected_amount"),
        affected_transactions=values.get("affected_transactions"),
        fund_loss=values.get("fund_loss"),
        regulatory_level=values.get("regulatory_level", "none"),
        cancelled=values.get("status") == "cancelled",
    )
    return suggest_grade(facts, rules, now=now)


def suggest(data: IncidentCreate, *, rules: GradingRules, now: datetime) -> Suggestion:
    """The grade the rules suggest for an incident not stored yet (the form asks as you type)."""
    values = _normalise(data.model_dump(exclude={"services"}))
    return _suggestion(values, data.services, _tiers(data.services), rules=rules, now=now)


def incident_view(
    values: Mapping[str, Any],
    keys: list[str],
    tiers: Mapping[str, int],
    *,
    rules: GradingRules,
    now: datetime,
    suggestion: Suggestion | None = None,
) -> IncidentOut:
    """The full read representation of a stored row (`model_to_dict` of one, or a row of a
    `.dicts()` query), with the suggestion as of `now` (given, when it was just computed)."""
    suggestion = suggestion or _suggestion(values, keys, tiers, rules=rules, now=now)
    deadline = report_deadline(
        values["regulatory_level"], values["detected_at"], rules.report_within_minutes
    )
    return IncidentOut.model_validate(
        {
            **values,
            "services": keys,
            "suggested_grade": suggestion.grade,
            "suggested_grade_reason": suggestion.reason,
            "attributed_weight": float(attributed_weight(values["responsibility"])),
            "regulatory_deadline": deadline,
        }
    )


def incident_json(
    values: Mapping[str, Any],
    keys: list[str],
    tiers: Mapping[str, int],
    *,
    rules: GradingRules,
    now: datetime,
) -> dict[str, Any]:
    """What `incident_view(...).model_dump(mode="json")` gives, made directly from a stored row
    (a property test holds their bytes equal): a list page writes fifty, and a model each costs
    more than the page's queries. Times stay datetimes, written as `utc_text` writes them by
    the API's JSON encoder."""
    suggestion = _suggestion(values, keys, tiers, rules=rules, now=now)
    item = dict(values)
    item["impact_ratio"] = float(values["impact_ratio"])
    for name in _AMOUNTS:
        if values[name] is not None:
            item[name] = f"{values[name]:.2f}"
    item["responsibility"] = [
        {"party": e["party"], "share": float(e["share"]), "internal": e.get("internal", True)}
        for e in values["responsibility"]
    ]
    item["services"] = keys
    item["suggested_grade"] = suggestion.grade
    item["suggested_grade_reason"] = suggestion.reason
    item["attributed_weight"] = float(attributed_weight(values["responsibility"]))
    item["regulatory_deadline"] = report_deadline(
        values["regulatory_level"], values["detected_at"], rules.report_within_minutes
    )
    item["pending_change_id"] = None
    return {name: item[name] for name in _OUT}  # in the model's order, as a single read


_AMOUNTS = tuple(f.name for f in Incident._meta.sorted_fields if isinstance(f, MoneyField))
_OUT = tuple(IncidentOut.model_fields)


def audited_record(values: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """A record as the audit trail compares it: every stored field (nothing computed)."""
    record = IncidentRecord.model_validate({**values, "services": keys})
    return record.model_dump(mode="json", exclude={"updated_at"})


def _load(incident_id: int) -> Incident:
    incident = Incident.get_or_none(Incident.id == incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


def get_incident(incident_id: int, *, rules: GradingRules, now: datetime) -> IncidentOut:
    incident = _load(incident_id)
    keys = incident.service_keys()
    return incident_view(model_to_dict(incident), keys, _tiers(keys), rules=rules, now=now)


def _resolve_services(keys: list[str]) -> list[Service]:
    found = {s.key: s for s in Service.by_keys(keys)}
    errors = [
        FieldError(f"services[{i}]", f"no service {key!r}", "error.no_service", {"key": key})
        for i, key in enumerate(keys)
        if key not in found
    ]
    if errors:
        raise Invalid(errors)
    return [found[k] for k in keys]


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    """Times to UTC, the impact start defaulting to detection, URLs to text, responsibility
    entries to plain dicts."""
    for field in TIME_FIELDS:
        if values.get(field) is not None:
            values[field] = values[field].astimezone(UTC)
    if values.get("impact_started_at") is None:
        values["impact_started_at"] = values["detected_at"]
    if values.get("postmortem_url") is not None:
        values["postmortem_url"] = str(values["postmortem_url"])
    if "responsibility" in values:
        values["responsibility"] = [dict(e) for e in values["responsibility"]]
    return values


def _checked(
    values: Mapping[str, Any],
    keys: list[str],
    tiers: Mapping[str, int],
    *,
    rules: GradingRules,
    now: datetime,
    grading: bool = True,
) -> Suggestion:
    """Every cross-field rule of DESIGN §3, all errors at once; returns the suggestion (the
    record's view needs it). The grade must explain itself when it is being set
    (`grading`), not on every later edit of a running incident."""
    times = {field: values.get(field) for field in TIME_FIELDS}
    errors = time_errors(times, now=now) + status_errors(values["status"], times)
    suggestion = _suggestion(values, keys, tiers, rules=rules, now=now)
    if grading and not errors:
        errors += grade_reason_errors(values.get("grade"), suggestion.grade, values["grade_reason"])
    if errors:
        raise Invalid(errors)
    return suggestion


def _link(incident: Incident, services: list[Service]) -> None:
    IncidentService.delete().where(IncidentService.incident == incident.id).execute()
    IncidentService.insert_many(
        [{"incident": incident.id, "service": s.id} for s in services]
    ).execute()


def create_incident(
    data: IncidentCreate, *, actor: str, rules: GradingRules, now: datetime, settings: Settings
) -> IncidentOut:
    values = _normalise(data.model_dump(exclude={"services"}))
    with database.atomic():
        services = _resolve_services(data.services)
        tiers = {s.key: s.tier for s in services}
        suggestion = _checked(values, data.services, tiers, rules=rules, now=now)
        keys = sorted(data.services)
        proposal = _held_back(values, NEW_RECORD, keys, settings=settings)
        if proposal:  # the record starts as it would without them, until they are approved
            suggestion = _checked(values, keys, tiers, rules=rules, now=now, grading=False)
        incident = Incident.create(**values, created_at=now, updated_at=now, created_by=actor)
        _link(incident, services)
        stored = model_to_dict(incident)
        waiting = _propose(incident.id, proposal, actor=actor, now=now)
        audit.record(
            "create",
            "incident",
            incident.id,
            before=None,
            after=audited_record(stored, keys),
            actor=actor,
            now=now,
        )
        view = incident_view(stored, keys, tiers, rules=rules, now=now, suggestion=suggestion)
        _announce(view, None, actor=actor, now=now, settings=settings)
    return view.model_copy(update={"pending_change_id": waiting})


def update_incident(
    incident_id: int,
    patch: IncidentPatch,
    *,
    actor: str,
    rules: GradingRules,
    now: datetime,
    settings: Settings,
    approved: bool = False,
) -> IncidentOut:
    """Apply the fields sent; every rule is re-checked against the merged record. With
    `grading.approval` on, a change of grade, responsibility or regulatory level (of a record
    that is not a draft) is checked, then held back as a proposal for another admin; the
    rest applies at once. `approved`: the change is one an admin approved (approvals)."""
    changes = patch.changes()
    new_keys = changes.pop("services", None)
    # Read, merge and write under the incident's lock: two concurrent PATCHes (two replicas)
    # would otherwise each save what the other overwrote, and audit a `before` that was gone.
    with exclusive(database, f"tracker.incident.{incident_id}"):
        incident = _load(incident_id)
        stored = model_to_dict(incident)
        if changes.get("grade", incident.grade) != incident.grade:
            # The reason explained the old grade: a new grade keeps only a reason sent with it
            # (and one below the suggestion is refused without one).
            changes.setdefault("grade_reason", "")
        old_keys = incident.service_keys()
        services = _resolve_services(new_keys) if new_keys is not None else None
        keys = sorted(new_keys) if new_keys is not None else old_keys
        tiers = {s.key: s.tier for s in services} if services is not None else _tiers(keys)
        merged = _normalise({**stored, **changes})
        # The grade is checked against the suggestion when the grade or its reason changes, not
        # at every edit: a stored grade was checked when it was set (and a service's tier
        # changed since must not make an unrelated edit fail).
        grading = any(
            name in changes and changes[name] != stored[name] for name in ("grade", "grade_reason")
        )
        accepting = stored["status"] == "triage" and merged["status"] not in UNCOUNTED_STATUSES
        if accepting and not keys:  # a record that counts names what it affected
            raise Invalid.one(
                "services", "name at least one service to accept a draft", "error.accept_draft"
            )
        suggestion = _checked(merged, keys, tiers, rules=rules, now=now, grading=grading)
        proposal = {} if approved else _held_back(merged, stored, keys, settings=settings)
        if proposal:  # checked as proposed; in force, the values stay as they are
            suggestion = _checked(merged, keys, tiers, rules=rules, now=now, grading=False)
        waiting = _propose(incident.id, proposal, actor=actor, now=now)
        if audit.record_update(
            "incident",
            incident.id,
            before=audited_record(stored, old_keys),
            after=audited_record(merged, keys),
            actor=actor,
            now=now,
        ):
            merged["updated_at"] = now
            Incident.update(**{k: v for k, v in merged.items() if k != "id"}).where(
                Incident.id == incident.id
            ).execute()
            if services is not None:
                _link(incident, services)
        view = incident_view(merged, keys, tiers, rules=rules, now=now, suggestion=suggestion)
        _announce(view, stored, actor=actor, now=now, settings=settings)
    return view.model_copy(update={"pending_change_id": waiting})


# What a record holds of the approved fields before anyone set them.
NEW_RECORD = {"grade": None, "grade_reason": "", "responsibility": [], "regulatory_level": "none"}


def _held_back(
    values: dict[str, Any], stored: Mapping[str, Any], keys: list[str], *, settings: Settings
) -> dict[str, tuple[Any, Any]]:
    """With approval on and a record that is not a draft: the approved fields `values` would
    change from `stored`, as (before, after), put back to `stored` in `values` (a grade's
    reason goes with it)."""
    if not settings.grading.approval or values["status"] == "triage":
        return {}
    changed = [f for f in APPROVED_FIELDS if values[f] != stored[f]]
    if "grade" in changed and values["grade_reason"] != stored["grade_reason"]:
        changed.append("grade_reason")
    held = {f: (stored[f], values[f]) for f in changed}
    for f in changed:
        values[f] = stored[f]
    return held


def _propose(
    incident_id: int, held: dict[str, tuple[Any, Any]], *, actor: str, now: datetime
) -> int | None:
    """Keep what `_held_back` held as a change waiting for approval (JSON values)."""
    if not held:
        return None
    before = IncidentPatch.model_validate({f: b for f, (b, _) in held.items()})
    after = IncidentPatch.model_validate({f: a for f, (_, a) in held.items()})
    return approvals.propose(
        incident_id,
        before=before.model_dump(mode="json", include=set(held)),
        after=after.model_dump(mode="json", include=set(held)),
        actor=actor,
        now=now,
    )


def _announce(
    view: IncidentOut,
    before: Mapping[str, Any] | None,
    *,
    actor: str,
    now: datetime,
    settings: Settings,
) -> None:
    """The events of a create (`before` None) or an update, queued in its transaction:
    `incident.created`, then `incident.graded` when the grade changed and `incident.status`
    when the status did."""
    if not settings.notifications.channels:
        return
    if before is None:
        events = ["incident.created"]
    else:
        events = [
            event
            for event, field in (("incident.graded", "grade"), ("incident.status", "status"))
            if before[field] != getattr(view, field)
        ]
    if not events:
        return
    record = view.model_dump(mode="json")
    for event in events:
        notifications.incident_event(
            event, record, actor=actor, now=now, settings=settings, before=before
        )


def unresolved_incidents(
    *, limit: int, rules: GradingRules, now: datetime
) -> tuple[list[IncidentOut], int]:
    """The newest `limit` records not resolved yet (open or mitigated), and how many there are."""
    rows = Incident.newest_first(Incident.unresolved())
    page = list(rows.limit(limit).dicts())
    keys, tiers = services_by_incident([r["id"] for r in page])
    views = [incident_view(r, keys.get(r["id"], []), tiers, rules=rules, now=now) for r in page]
    return views, Incident.unresolved().count()


def suggestion_of(incident: IncidentOut, *, rules: GradingRules, now: datetime) -> Suggestion:
    """The suggestion for a record as read (the UI says its reason in words)."""
    tiers = _tiers(incident.services)
    return _suggestion(incident.model_dump(), incident.services, tiers, rules=rules, now=now)


def list_incidents(
    query: IncidentQuery,
    *,
    rules: GradingRules,
    now: datetime,
) -> Page[IncidentOut]:
    """Newest first by `detected_at`, filtered as asked. A text search is stopped after
    SEARCH_SECONDS (a 422 asking to narrow it)."""
    page, keys, tiers = _listed(query)
    return page.map(
        lambda row: incident_view(_ROW(row), keys.get(row[_ID], []), tiers, rules=rules, now=now)
    )


def list_incidents_json(
    query: IncidentQuery,
    *,
    rules: GradingRules,
    now: datetime,
) -> Page[RawJson]:
    """The page `list_incidents` gives, each item as the API writes it (`incident_json`,
    written): no model is built per row, and an item that time does not change is written
    once and remembered by everything it is made of."""
    page, keys, tiers = _listed(query)
    return page.map(lambda row: _written(row, keys.get(row[_ID], []), tiers, rules, now))


def _written(
    row: tuple, keys: list[str], tiers: Mapping[str, int], rules: GradingRules, now: datetime
) -> RawJson:
    """A stored row's item as JSON. Remembered (an LRU) when its suggestion does not move
    with time, under its whole stored row, its services, their tiers and the rules: a list a
    dashboard asks for again costs the query and a lookup per row."""
    ended = row[_MITIGATED] is not None or row[_RESOLVED] is not None
    if moves_with_time(ended=ended, counted=bool(row[_COUNTED])):
        return RawJson(json_bytes(incident_json(_ROW(row), keys, tiers, rules=rules, now=now)))
    if isinstance(row[_RESPONSIBILITY], list):  # PostgreSQL parses JSON; the key needs text
        row = (
            *row[:_RESPONSIBILITY],
            json_bytes(row[_RESPONSIBILITY]),
            *row[_RESPONSIBILITY + 1 :],
        )
    return _remembered(row, tuple(keys), tuple(tiers.get(k, 3) for k in keys), rules)


@functools.lru_cache(maxsize=2048)  # a few pages of lists, about 2 KiB each
def _remembered(
    row: tuple, keys: tuple[str, ...], tiers: tuple[int, ...], rules: GradingRules
) -> RawJson:
    values, tiered = _ROW(row), dict(zip(keys, tiers, strict=True))
    # `now` plays no part in an item whose impact ended or does not count: any will do
    item = incident_json(values, list(keys), tiered, rules=rules, now=values["detected_at"])
    return RawJson(json_bytes(item))


class _Shape(NamedTuple):
    """Which filters a list gives, the values aside: one compiled query each."""

    since: bool
    until: bool
    grade: str | None  # a value of a small vocabulary: its IN list is part of the query
    status: bool
    service: bool
    text: bool
    after: bool = False
    offset: bool = False


def _matching(shape: _Shape) -> peewee.ModelSelect:
    """The incidents a list of `shape` asks for, newest first, with slots for its values:
    each filter has an index that also keeps that order, so a page reads its rows and stops."""
    at = Incident.detected_at
    rows = Incident.detected_between(
        slot("since", at) if shape.since else None, slot("until", at) if shape.until else None
    )
    if shape.grade == "ungraded":
        rows = rows.where(Incident.grade.is_null())
    elif shape.grade is not None:
        rows = rows.where(Incident.grade.in_(GRADE_GROUPS.get(shape.grade, (shape.grade,))))
    if shape.status:
        rows = rows.where(Incident.status == slot("status"))
    if shape.service:
        rows = Incident.affecting(rows, slot("service"))
    if shape.text:
        rows = Incident.matching(rows, slot("pattern"))
    if shape.after:
        rows = Incident.after(rows, slot("at", at), slot("id"))
    rows = Incident.newest_first(rows).limit(slot("limit"))
    return rows.offset(slot("offset")) if shape.offset else rows


_MATCHING = Prepared(_matching)
_ROW = RowReader(Incident._meta.sorted_fields)
_AT = {field.name: at for at, field in enumerate(Incident._meta.sorted_fields)}
_ID, _DETECTED, _MITIGATED, _RESOLVED, _COUNTED, _RESPONSIBILITY = (
    _AT[name]
    for name in (
        "id",
        "detected_at",
        "mitigated_at",
        "resolved_at",
        "counts_toward_availability",
        "responsibility",
    )
)


def _listed(query: IncidentQuery) -> tuple[Page[tuple], dict[int, list[str]], dict]:
    """A page of stored rows (as the driver gives them: `_ROW` reads one), the service keys
    of each and the tiers of those services."""
    if query.service is not None and not Service.has_key(query.service):
        raise Invalid.one("service", f"no service {query.service!r}")
    shape = _Shape(
        since=query.since is not None,
        until=query.until is not None,
        grade=query.grade,
        status=query.status is not None,
        service=query.service is not None,
        text=query.q is not None,
    )
    values = {
        "since": query.since,
        "until": query.until,
        "status": query.status,
        "service": query.service,
        "pattern": None if query.q is None else Incident.like_pattern(query.q),
    }

    def fetch(after: tuple[datetime, int] | None, offset: int | None, limit: int) -> list[dict]:
        asked = shape._replace(after=after is not None, offset=offset is not None)
        at, id = after or (None, None)
        bound = {**values, "at": at, "id": id, "offset": offset, "limit": limit}
        return _MATCHING.execute(asked, bound).fetchall()

    def read() -> Page[tuple]:
        return paged(
            query,
            key=lambda row: [utc_of(row[_DETECTED]).isoformat(), row[_ID]],
            arity=2,
            read=lambda v: (datetime.fromisoformat(v[0]), int(v[1])),
            fetch=fetch,
        )

    if query.q is None:
        page = read()
    else:
        try:
            with time_limit(database, SEARCH_SECONDS):
                page = read()
        except TooSlow:
            raise Invalid.one(
                "q",
                f"the search ran over {SEARCH_SECONDS} s; narrow it with since, until, "
                "status, grade or service",
                "error.search_too_slow",
                seconds=SEARCH_SECONDS,
            ) from None
    keys, tiers = services_by_incident([row[_ID] for row in page.items])
    return page, keys, tiers


def add_timeline_entry(
    incident_id: int, data: TimelineCreate, *, actor: str, now: datetime
) -> TimelineOut:
    at = data.at.astimezone(UTC)
    if at > now + FUTURE_TOLERANCE:
        raise Invalid.one("at", f"is in the future ({at.isoformat()})")
    with database.atomic():
        incident = _load(incident_id)
        entry = TimelineEntry.create(
            incident=incident, at=at, text=data.text, author=actor, created_at=now
        )
        out = _timeline_view(entry)
        audit.record(
            "create",
            "timeline_entry",
            entry.id,
            before=None,
            after=out.model_dump(mode="json"),
            actor=actor,
            now=now,
        )
    return out


def list_timeline(incident_id: int) -> list[TimelineOut]:
    _load(incident_id)
    return [_timeline_view(e) for e in TimelineEntry.of(incident_id)]


def _timeline_view(entry: TimelineEntry) -> TimelineOut:
    return TimelineOut(
        id=entry.id,
        incident_id=entry.incident_id,
        at=entry.at,
        text=entry.text,
        author=entry.author,
    )
