"""Dips (DESIGN §12): where a success rate, over a trailing window of minutes, fell below its
`dip_below` while enough attempts were counted, found from the minute counts alone.

Minute i is **low** when the `window` minutes ending with it hold at least `min_attempts`
counted attempts and successes / attempts < `below`. A dip is a maximal run of low minutes;
it starts `window − 1` minutes before its first low minute (where the failures it saw began
to count) and ends with its last (exclusive: the end of that minute).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from itertools import accumulate, compress
from operator import sub
from typing import Any
from urllib.parse import urlencode

from tracker.core.display import percent, utc_text
from tracker.core.texts import Lang, text
from tracker.core.vocabulary import ALL


@dataclass(frozen=True, slots=True)
class Dip:
    """A dip over the positions [start, end) of the minutes it was found in: its first low
    minute, the lowest trailing-window rate of its low minutes, and the attempts and failures
    counted in it, of which `lead_*` before its first low minute (what `joined` needs to add
    two halves of one dip found apart)."""

    start: int
    first_low: int
    end: int
    worst: Fraction
    attempts: int
    failures: int
    lead_attempts: int = 0
    lead_failures: int = 0


@dataclass(frozen=True)
class FoundDip:
    """A dip of a rate on a channel (or `all`), in time, with what covers it: the records
    impaired during it and the maintenance windows around it (each widened by the slack)."""

    rate: str
    label_zh: str
    label_en: str
    channel: str
    started_at: datetime
    ended_at: datetime
    worst: Fraction
    attempts: int
    failures: int
    incident_ids: tuple[int, ...] = ()
    maintenance_ids: tuple[int, ...] = ()

    @property
    def logged(self) -> bool:
        return bool(self.incident_ids or self.maintenance_ids)

    def label(self, lang: Lang) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def to_json(self, lang: Lang = "zh") -> dict[str, Any]:
        return {
            "rate": self.rate,
            "label": self.label(lang),
            "channel": self.channel,
            "started_at": utc_text(self.started_at),
            "ended_at": utc_text(self.ended_at),
            "worst_value": float(self.worst),
            "worst_display": percent(self.worst, lang=lang),
            "attempts": self.attempts,
            "failures": self.failures,
            "incident_ids": list(self.incident_ids),
            "maintenance_ids": list(self.maintenance_ids),
            "logged": self.logged,
        }

    def title(self, lang: Lang) -> str:
        """What the record a person logs for it is called at first."""
        key = "dips.title_all" if self.channel == ALL else "dips.title"
        worst = percent(self.worst, lang=lang)
        return text(key, lang).format(channel=self.channel, label=self.label(lang), worst=worst)

    def record_path(self, lang: Lang) -> str:
        """The form to log an incident for it, its times and a title filled in."""
        query = {
            "impact_started_at": utc_text(self.started_at),
            "mitigated_at": utc_text(self.ended_at),
            "title": self.title(lang),
        }
        return "/incidents/new?" + urlencode(query)

    def stored(self) -> dict[str, Any]:
        """What a snapshot keeps: every field, the worst rate exact."""
        return {
            **vars(self),
            "started_at": utc_text(self.started_at),
            "ended_at": utc_text(self.ended_at),
            "worst": [self.worst.numerator, self.worst.denominator],
            "incident_ids": list(self.incident_ids),
            "maintenance_ids": list(self.maintenance_ids),
        }

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> FoundDip:
        def instant(text: str) -> datetime:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))

        return cls(
            **{
                **data,
                "started_at": instant(data["started_at"]),
                "ended_at": instant(data["ended_at"]),
                "worst": Fraction(*data["worst"]),
                "incident_ids": tuple(data["incident_ids"]),
                "maintenance_ids": tuple(data["maintenance_ids"]),
            }
        )


def joined(dips: Iterable[Dip]) -> list[Dip]:
    """Dips found in consecutive stretches of minutes (each stretch with the `window − 1`
    minutes before it to fill its first windows), in time order, as the dips of the whole:
    a dip that ends where the next one's first low minute is, is one run of low minutes cut
    in two. The later part's lead minutes are the earlier part's last, so they count once."""
    whole: list[Dip] = []
    for dip in dips:
        if whole and whole[-1].end == dip.first_low:
            before = whole[-1]
            whole[-1] = Dip(
                before.start,
                before.first_low,
                dip.end,
                min(before.worst, dip.worst),
                before.attempts + dip.attempts - dip.lead_attempts,
                before.failures + dip.failures - dip.lead_failures,
                before.lead_attempts,
                before.lead_failures,
            )
        else:
            whole.append(dip)
    return whole


def find_dips(
    successes: Sequence[int],
    attempts: Sequence[int],
    *,
    window: int,
    min_attempts: int,
    below: Fraction,
    first: int = 0,
) -> list[Dip]:
    """The dips of consecutive minutes (position i is one minute after i − 1; a minute without
    data holds 0 and 0) whose low minutes are at `first` or later: the minutes before it only
    fill the trailing windows of the first ones. A window reaching before position 0 holds
    what there is. O(minutes), in a few passes over whole lists."""
    if window < 1:
        raise ValueError("window must be at least 1 minute")
    if len(successes) != len(attempts):
        raise ValueError("successes and attempts must be as long as each other")
    p, q = below.numerator, below.denominator
    pad = [0] * (window - 1)  # running sums padded so that every window is end − start
    won = [*pad, *accumulate(successes, initial=0)]
    tried = [*pad, *accumulate(attempts, initial=0)]
    won_in = map(sub, won[window + first :], won[first:])
    tried_in = map(sub, tried[window + first :], tried[first:])
    # low: s / a < p / q with a ≥ floor, in integers (a > 0 then)
    low = [s * q < p * a and a >= min_attempts for s, a in zip(won_in, tried_in, strict=True)]
    lows = compress(range(first, len(successes)), low)
    dips = []
    for run_first, run_last in _runs(lows):
        worst_s, worst_a = _lowest(won, tried, window, run_first, run_last)
        start = max(run_first - window + 1, 0)
        # positions [start, run_last] in the padded sums: their index + window − 1
        at_start, at_first = start + window - 1, run_first + window - 1
        n_tried = tried[run_last + window] - tried[at_start]
        n_won = won[run_last + window] - won[at_start]
        lead_tried = tried[at_first] - tried[at_start]
        lead_won = won[at_first] - won[at_start]
        worst = Fraction(worst_s, worst_a)
        dips.append(
            Dip(
                start,
                run_first,
                run_last + 1,
                worst,
                n_tried,
                n_tried - n_won,
                lead_tried,
                lead_tried - lead_won,
            )
        )
    return dips


def _runs(positions: Iterator[int]) -> Iterator[tuple[int, int]]:
    """Maximal runs of consecutive positions, as (first, last)."""
    run_first = run_last = None
    for at in positions:
        if run_last is not None and at == run_last + 1:
            run_last = at
            continue
        if run_first is not None:
            yield run_first, run_last
        run_first = run_last = at
    if run_first is not None:
        yield run_first, run_last


def _lowest(
    won: list[int], tried: list[int], window: int, run_first: int, run_last: int
) -> tuple[int, int]:
    """(successes, attempts) of the lowest trailing-window rate of positions in the run."""
    best_s, best_a = 1, 0  # no rate yet
    for at in range(run_first, run_last + 1):
        s = won[at + window] - won[at]
        a = tried[at + window] - tried[at]
        if best_a == 0 or s * best_a < best_s * a:
            best_s, best_a = s, a
    return best_s, best_a
