"""When to try a message again: exponential backoff with jitter (DESIGN §10)."""

from __future__ import annotations

from datetime import timedelta

FIRST_SECONDS = 10.0  # the wait after the first failed attempt, before jitter
LONGEST_SECONDS = 3600.0  # no wait grows past an hour


def retry_delay(attempts: int, jitter: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt (1, 2, …): min(FIRST × 2^(attempts−1),
    LONGEST) scaled by 0.5 + jitter/2, `jitter` uniform in [0, 1) ("equal jitter": replicas
    and channels that failed together spread out, and no wait is under half its step)."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be within [0, 1), got {jitter}")
    step = min(FIRST_SECONDS * 2.0 ** min(attempts - 1, 64), LONGEST_SECONDS)
    return timedelta(seconds=step * (0.5 + jitter / 2))
