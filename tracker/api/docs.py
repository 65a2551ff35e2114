"""/api/docs/: Swagger UI over /api/v1/openapi.json, served from this server (the files
flask-swagger-ui ships, so no page of tracker's loads a script from another site)."""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, render_template_string, url_for

swagger = Blueprint(
    "swagger",
    __name__,
    static_folder=str(files("flask_swagger_ui") / "dist"),
    static_url_path="/api/docs/static",
)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>tracker API</title>
  <link rel="stylesheet" href="{{ url_for('swagger.static', filename='swagger-ui.css') }}">
  <link rel="icon" href="{{ url_for('ui.static', filename='favicon.svg') }}" type="image/svg+xml">
</head>
<body>
  <div id="swagger-ui" data-spec="{{ url_for('openapi') }}"></div>
  <script src="{{ url_for('swagger.static', filename='swagger-ui-bundle.js') }}"></script>
  <script src="{{ url_for('ui.static', filename='api_docs.js') }}"></script>
</body>
</html>
"""


@swagger.get("/api/docs/")
def docs() -> Response:
    return Response(render_template_string(PAGE), mimetype="text/html")


__all__ = ["swagger", "url_for"]
