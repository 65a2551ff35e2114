"""How requests hold database connections."""

from tracker.db import database


def test_sqlite_keeps_a_threads_connection_between_requests_postgresql_returns_it(api, backend):
    """On SQLite, reopening per request costs the pragmas and a WAL checkpoint each time; on
    PostgreSQL the pool owns connections and a request gives its own back."""
    assert api.get("/services").status_code == 200
    first = None if database.is_closed() else database.connection()
    assert api.get("/services").status_code == 200
    if backend == "sqlite":
        assert first is not None and database.connection() is first
    else:
        assert first is None and database.is_closed()
