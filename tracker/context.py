"""What an adapter (a view, a page) needs from the app besides its arguments: the one way
to the settings, the grading rules and who is asking."""

from zoneinfo import ZoneInfo

from flask import current_app, g

from tracker.core.grading import GradingRules
from tracker.settings import Settings


def actor() -> str:
    return g.actor


def settings() -> Settings:
    return current_app.extensions["tracker.settings"]


def zone() -> ZoneInfo:
    return settings().zone


def grading() -> GradingRules:
    """The grading rules, parsed once per app."""
    return current_app.extensions["tracker.grading"]
