"""What a view needs from the request context besides its arguments."""

from flask import current_app, g

from tracker.core.grading import GradingRules
from tracker.settings import Settings


def actor() -> str:
    return g.actor


def settings() -> Settings:
    return current_app.extensions["tracker.settings"]


def grading() -> GradingRules:
    """The grading rules, parsed once per app."""
    return current_app.extensions["tracker.grading"]
