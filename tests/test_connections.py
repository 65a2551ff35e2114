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


def test_a_thread_reading_from_the_replica_routes_only_its_own_queries():
    import threading

    import peewee

    from tracker.db import RoutedDatabase

    routed, primary, replica = RoutedDatabase(), peewee.SqliteDatabase(":memory:"), object()
    routed.initialize(primary)
    seen = {}
    inside, done = threading.Event(), threading.Event()

    def reader():
        routed.route(replica)
        seen["reader"] = routed.obj
        inside.set()
        done.wait(5)
        routed.route(None)
        seen["after"] = routed.obj

    thread = threading.Thread(target=reader)
    thread.start()
    inside.wait(5)
    seen["other"] = routed.obj  # while the reader is routed
    done.set()
    thread.join(5)
    assert seen == {"reader": replica, "other": primary, "after": primary}
