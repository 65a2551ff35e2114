"""Transactions to outcomes (DESIGN §3): a failure's reason code says whose failure it was."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OutcomeMap:
    """statuses: status → outcome, or `by_reason` to look the reason code up in `codes`;
    an unmapped code gets `default`."""

    statuses: Mapping[str, str]
    codes: Mapping[str, str]
    default: str

    def classify(self, status: str, reason_code: str) -> str:
        """The outcome of one transaction. Raises KeyError for an unknown status."""
        outcome = self.statuses[status.strip().lower()]
        if outcome != BY_REASON:
            return outcome
        return self.codes.get(reason_code.strip().upper(), self.default)

    def knows(self, reason_code: str) -> bool:
        return reason_code.strip().upper() in self.codes


BY_REASON = "by_reason"
