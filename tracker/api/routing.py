"""Endpoints declared once: the same pydantic models parse requests and document the API.

`@endpoint(...)` records what a view takes and returns; `install(app, blueprint)` registers the
blueprint, wraps each view with the parsing and the role check, and hands the same models to
spectree, which writes the OpenAPI 3.1 document (served at /api/v1/openapi.json; Swagger UI
at /api/docs/).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from pydantic import BaseModel, ValidationError
from spectree import Response as SpecResponse
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from tracker import __version__
from tracker.api.problems import MEDIA_TYPE
from tracker.errors import BadRequest, Forbidden, Invalid, UnsupportedMediaType
from tracker.schemas import (
    MAX_ROW_ID,
    Page,
    Problem,
    json_bytes,
    validate_json,
    validation_errors,
)
from tracker.services.tokens import may

JSON_TYPES = ("application/json",)
PROBLEM_STATUSES = (400, 401, 403, 404, 409, 413, 414, 415, 422)


class RowId(IntegerConverter):
    """`<int:...>` in every route: a row id is a positive 32-bit integer (a SERIAL column), so
    a larger number is a 404 instead of an overflow in the database driver (a 500). Raised
    here, not left to the matcher, which would answer a PATCH with 405."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not 1 <= number <= MAX_ROW_ID:
            raise NotFound(f"no record has the id {value[:20]}")
        return number


@dataclass(frozen=True)
class EndpointSpec:
    right: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    resp: type[Any] | None = None
    status: int = 200
    tags: tuple[str, ...] = field(default_factory=tuple)
    raw_body: bool = False


def endpoint(
    *,
    right: str = "read",
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    resp: type[Any] | None = None,
    status: int = 200,
    tags: tuple[str, ...] = (),
    raw_body: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a view: the right it needs, its query and body models (parsed and passed as
    `query` and `body`), its response model. With `raw_body` the view takes the JSON body's
    bytes as `body` and reads them itself (the model still documents it)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        spec = EndpointSpec(right, query, body, resp, status, tags, raw_body)
        view.endpoint_spec = spec  # type: ignore[attr-defined]
        return view

    return decorate


def json_body() -> bytes:
    """The request's JSON body as bytes: 415 for another media type, 400 when empty."""
    mimetype = request.mimetype or ""
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as application/json, not {mimetype or 'no content type'}"
        )
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object")
    return raw


def parse_body(spec: EndpointSpec) -> Any:
    raw = json_body()
    if spec.raw_body:
        return raw
    assert spec.body is not None
    return validate_json(spec.body, raw)


def parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(request.args.to_dict(flat=True))
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None


def to_json(result: Any) -> Any:
    if isinstance(result, Page):  # `page` only when the request paged by number
        page = {
            "items": [to_json(i) for i in result.items],
            "limit": result.limit,
            "next_cursor": result.next_cursor,
        }
        if result.page is not None:
            page["page"] = result.page
        return page
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return {"items": [to_json(i) for i in result]}
    return result


def respond(result: Any, status: int = 200) -> Response:
    if isinstance(result, Response):
        return result
    return Response(json_bytes(to_json(result)), status=status, mimetype="application/json")


def _adapter(view: Callable[..., Any], spec: EndpointSpec) -> Callable[..., Response]:
    @functools.wraps(view)
    def handle(**path: Any) -> Response:
        if not may(g.role, spec.right):
            raise Forbidden(f"role {g.role!r} may not do this; it needs {spec.right!r} rights")
        if any(isinstance(v, str) and "\x00" in v for v in path.values()):
            raise NotFound("no such record")  # nothing is stored under a name with U+0000
        kwargs = dict(path)
        if spec.query is not None:
            kwargs["query"] = parse_query(spec.query)
        if spec.body is not None:
            kwargs["body"] = parse_body(spec)
        return respond(view(**kwargs), spec.status)

    return handle


def _documented(spectree: SpecTree, handler: Callable[..., Any], spec: EndpointSpec) -> Any:
    """The handler, documented by spectree: spectree's own wrapper (which would unpack and
    make every answer again, a copy of its body) is only what the document is read from."""
    responses: dict[str, Any] = {f"HTTP_{code}": Problem for code in PROBLEM_STATUSES}
    responses[f"HTTP_{spec.status}"] = spec.resp
    if spec.right == "read":
        for code in (409, 413, 415):
            responses.pop(f"HTTP_{code}")
    documented = spectree.validate(
        query=spec.query,
        json=spec.body,
        resp=SpecResponse(**responses),
        tags=spec.tags,
        security={"bearer": []},
        skip_validation=True,
    )(handler)

    @functools.wraps(documented)  # spectree finds its record of the route through __wrapped__
    def serve(**path: Any) -> Response:
        return handler(**path)

    return serve


def _problems_as_problem_json(spec: dict[str, Any]) -> dict[str, Any]:
    """Error responses are served as application/problem+json; say so in the document."""
    spec = json.loads(json.dumps(spec))
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.startswith(("4", "5")) and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")
    return spec


def component_name(model: type[Any]) -> str:
    """`Page[IncidentOut]` → `IncidentOutPage`: OpenAPI component names allow [A-Za-z0-9._-]."""
    name = model.__name__
    if "[" in name:
        outer, inner = name.rstrip("]").split("[", 1)
        name = inner + outer
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def install(app: Flask, blueprint: Blueprint) -> SpecTree:
    """Register the blueprint with every declared view parsed, checked and documented."""
    spectree = SpecTree(
        "flask",
        title="tracker",
        version=__version__,
        description="Incidents, availability, error budgets and payment success rates.",
        path="api/docs",
        filename="openapi.json",
        page_templates={},  # the page is tracker's own (api/docs.py): no scripts from a CDN
        mode="strict",
        annotations=False,
        validation_error_status=422,
        validation_error_model=Problem,
        naming_strategy=component_name,
        nested_naming_strategy=lambda _parent, child: child,
        security_schemes=[
            SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer"))
        ],
    )
    app.register_blueprint(blueprint)
    for name, view in list(app.view_functions.items()):
        spec = getattr(view, "endpoint_spec", None)
        if spec is not None:
            app.view_functions[name] = _documented(spectree, _adapter(view, spec), spec)
    spectree.register(app)

    document = functools.cache(lambda: json.dumps(_problems_as_problem_json(spectree.spec)))

    @app.get(f"{blueprint.url_prefix}/openapi.json")
    def openapi() -> Response:
        return Response(document(), mimetype="application/json")

    return spectree
