"""The /api/v1 blueprint that every resource module adds its routes to."""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")
