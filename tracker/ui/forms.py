"""The incident form: a record as its fields show it, and what a submitted form changes.

A saved form must change exactly what the person changed. The page carries the values it
showed (`base`, as JSON); saving compares what comes back with them, field by field, and
patches only the fields that differ. A field nobody touched is not sent, so it keeps its
stored value to the microsecond, whatever the inputs can show, and a change someone else saved
meanwhile to another field is not undone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from tracker.core.display import count
from tracker.core.incidents import TIME_FIELDS
from tracker.core.readable import SHARE_WORDS
from tracker.errors import FieldError, Invalid
from tracker.schemas import IncidentOut

TEXT_FIELDS = (
    "title",
    "summary",
    "status",
    "grade",
    "grade_reason",
    "root_cause",
    "detection_source",
    "location",
    "impact_ratio",
    "affected_transactions",
    "affected_amount",
    "fund_loss",
    "regulatory_level",
    "postmortem_url",
)
# Empty means "none" for these (the others: an empty value is a value, or an error).
NULLABLE = frozenset(
    {
        "grade",
        "affected_transactions",
        "affected_amount",
        "fund_loss",
        "postmortem_url",
        "impact_started_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "regulatory_reported_at",
    }
)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def local_text(moment: datetime | None, zone: ZoneInfo) -> str:
    """An instant as a `datetime-local` input shows it, to the second."""
    return "" if moment is None else moment.astimezone(zone).strftime(LOCAL_FORMAT)


def offsets_of(value: str, zone: ZoneInfo) -> list[str]:
    """The two UTC offsets a local time can have when the clocks went back over it (the
    form lets the person choose); empty for any other time."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return []
    early, late = (naive.replace(tzinfo=zone, fold=f) for f in (0, 1))
    if early.utcoffset() == late.utcoffset() or not _exists(naive, zone):
        return []
    return [_offset_text(early), _offset_text(late)]


def _offset_text(moment: datetime) -> str:
    return moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether the clocks of `zone` ever show this wall time (not in a spring-forward gap)."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def local_instant(name: str, value: str, zone: ZoneInfo, offset: str = "") -> str:
    """A local wall time from the form as ISO 8601 with its offset. A time the clocks skip
    is refused; a time they show twice needs its `offset` chosen."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid.one(name, f"{value!r} is not a time", "error.local_time") from None
    if naive.tzinfo is not None:
        return naive.isoformat()
    where = {"zone": zone.key, "value": value.replace("T", " ")}
    if not _exists(naive, zone):
        message = f"{value} does not exist in {zone.key}"
        raise Invalid.one(name, message, "error.nonexistent_time", **where)
    choices = offsets_of(value, zone)
    if choices:
        if offset not in choices:
            message = f"{value} happens twice in {zone.key}: choose its offset"
            raise Invalid.one(name, message, "error.ambiguous_time", **where)
        return naive.replace(tzinfo=zone, fold=choices.index(offset)).isoformat()
    return naive.replace(tzinfo=zone).isoformat()


def shown(incident: IncidentOut, zone: ZoneInfo) -> dict[str, Any]:
    """The values the form shows for a stored record, as text (what it posts back)."""
    record = incident.model_dump(mode="json")
    values: dict[str, Any] = {
        name: "" if record[name] is None else str(record[name]) for name in TEXT_FIELDS
    }
    values["impact_ratio"] = count(incident.impact_ratio)
    for name in TIME_FIELDS:
        values[name] = local_text(getattr(incident, name), zone)
        choices = offsets_of(values[name], zone)
        if choices:
            moment = getattr(incident, name)
            values[f"{name}_offset"] = _offset_text(moment.astimezone(zone))
    values["services"] = sorted(incident.services)
    values["counts_toward_availability"] = "on" if incident.counts_toward_availability else ""
    values["responsibility"] = [
        {
            "party": entry.party,
            "share": count(entry.share),
            "internal": "internal" if entry.internal else "external",
        }
        for entry in incident.responsibility
    ]
    return values


def submitted(form: MultiDict) -> dict[str, Any]:
    """A posted form's values in the shape `shown` gives them. A text field the form does not
    carry is left out (an unticked box and an empty list are values)."""
    values: dict[str, Any] = {
        name: form[name].replace("\r\n", "\n").strip() for name in TEXT_FIELDS if name in form
    }  # browsers send a textarea's newlines as CR LF
    for name in TIME_FIELDS:
        if name in form:
            values[name] = form[name].strip()
        if form.get(f"{name}_offset"):
            values[f"{name}_offset"] = form[f"{name}_offset"]
    values["services"] = sorted(form.getlist("services"))
    values["counts_toward_availability"] = "on" if form.get("counts_toward_availability") else ""
    rows = sorted(
        {key.split("-")[1] for key in form if key.startswith("responsibility-")},
        key=lambda n: int(n) if n.isdigit() else 0,
    )
    values["responsibility"] = [
        {
            "party": form.get(f"responsibility-{n}-party", "").strip(),
            "share": form.get(f"responsibility-{n}-share", "").strip(),
            "internal": form.get(f"responsibility-{n}-internal", "internal"),
        }
        for n in rows
        if form.get(f"responsibility-{n}-party", "").strip()
        and not form.get(f"responsibility-{n}-remove")
    ]
    return values


def base_of(form: MultiDict) -> dict[str, Any]:
    """The values the page showed when it was opened (its hidden `base`)."""
    try:
        base = json.loads(form.get("base", ""))
    except ValueError:
        base = None
    if not isinstance(base, dict):
        raise Invalid.one("form", "the form is incomplete: open the page again")
    return base


def changed(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from what the page showed (compared as what they mean: 10:04
    and 10:04:00 are one time, 0.5 and 0.50 one share)."""
    return {
        name: value
        for name, value in values.items()
        if not name.endswith("_offset") and not _same(name, base, values)
    }


def _same(name: str, base: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    if name in TIME_FIELDS:
        key = f"{name}_offset"
        return _time(base.get(name)) == _time(values[name]) and base.get(key) == values.get(key)
    if name == "responsibility":
        return _entries(base.get(name)) == _entries(values[name])
    if name in ("impact_ratio", "affected_amount", "fund_loss"):
        return _decimal(base.get(name)) == _decimal(values[name])
    return base.get(name) == values[name]


def _time(value: Any) -> Any:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return value


def _decimal(value: Any) -> Any:
    try:
        return Decimal(value) if value not in ("", None) else None
    except (InvalidOperation, TypeError):
        return value


def _entries(rows: Any) -> Any:
    if not isinstance(rows, list):
        return rows
    return [(r.get("party"), _decimal(_share(r.get("share", ""))), r.get("internal")) for r in rows]


def _share(value: str) -> str:
    """全责, 主责, 同责, 次责 and 无责 are their shares; anything else is as written."""
    return SHARE_WORDS.get(value.strip(), value.strip())


def api_values(values: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Form values as the API's JSON fields, ready for IncidentCreate or IncidentPatch."""
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in values.items():
        if name.endswith("_offset"):
            continue
        if name in TIME_FIELDS:
            if value:
                try:
                    value = local_instant(name, value, zone, values.get(f"{name}_offset", ""))
                except Invalid as exc:
                    errors += exc.errors
                    continue
            elif name in NULLABLE:
                value = None
        elif name == "counts_toward_availability":
            value = value == "on"
        elif name == "responsibility":
            value = [
                {
                    "party": r["party"],
                    "share": _share(r["share"]),
                    "internal": r["internal"] != "external",
                }
                for r in value
            ]
        elif value == "" and name in NULLABLE:
            value = None
        data[name] = value
    if errors:
        raise Invalid(errors)
    return data
