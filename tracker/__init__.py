"""tracker: incident and availability SLO tracker for a payment platform."""

__version__ = "0.1.0"
