"""The service catalog: what incidents affect and availability is measured for."""

from __future__ import annotations

from datetime import datetime

import peewee

from tracker.db import database
from tracker.errors import Conflict, NotFound
from tracker.models import Service
from tracker.schemas import ServiceCreate, ServiceOut, ServicePatch
from tracker.services import audit


def _dump(service: Service) -> dict:
    return ServiceOut.model_validate(service).model_dump(mode="json")


def _load(key: str) -> Service:
    service = Service.get_or_none(Service.key == key)
    if service is None:
        raise NotFound(f"no service {key!r}")
    return service


def get_service(key: str) -> ServiceOut:
    return ServiceOut.model_validate(_load(key))


def list_services() -> list[ServiceOut]:
    return [ServiceOut.model_validate(s) for s in Service.ordered()]


def create_service(data: ServiceCreate, *, actor: str, now: datetime) -> ServiceOut:
    try:
        with database.atomic():
            service = Service.create(**data.model_dump(), created_at=now, updated_at=now)
            out = ServiceOut.model_validate(service)
            audit.record(
                "create",
                "service",
                data.key,
                before=None,
                after=out.model_dump(mode="json"),
                actor=actor,
                now=now,
            )
    except peewee.IntegrityError:
        raise Conflict(f"service {data.key!r} already exists") from None
    return out


def update_service(key: str, patch: ServicePatch, *, actor: str, now: datetime) -> ServiceOut:
    with database.atomic():
        service = _load(key)
        before = _dump(service)
        for name in patch.model_fields_set:
            setattr(service, name, getattr(patch, name))
        after = _dump(service)
        if audit.record_update("service", key, before=before, after=after, actor=actor, now=now):
            service.updated_at = now
            service.save()
    return ServiceOut.model_validate(service)
