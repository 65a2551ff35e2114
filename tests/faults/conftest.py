"""Fixtures of the fault suite: a PostgreSQL cluster a test may stop and start at will."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI
from tests.faults.private_postgres import PrivatePostgres, find_bin


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running cluster of this test's own, removed after it."""
    bin_dir = find_bin()
    if bin_dir is None:
        reason = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
        if IN_CI:
            pytest.fail(f"CI=true needs them: {reason}")
        pytest.skip(reason)
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
