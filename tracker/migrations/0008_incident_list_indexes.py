"""Incident lists filtered by status or grade, newest first: one index each that both filters
and orders, in place of the single-column ones (a filter that matched most rows read them all
and sorted them to return fifty).

The indexes as they were; later migrations never edit this file.
"""

from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.drop_index("incident", "incident_status"),
        migrator.drop_index("incident", "incident_grade"),
        migrator.add_index("incident", ("status", "detected_at", "id"), False),
        migrator.add_index("incident", ("grade", "detected_at", "id"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("incident", "incident_status_detected_at_id"),
        migrator.drop_index("incident", "incident_grade_detected_at_id"),
        migrator.add_index("incident", ("status",), False),
        migrator.add_index("incident", ("grade",), False),
    )
