"""Services, incidents, timeline, audit trail, maintenance windows and API tokens.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class ApiToken(Model):
        name = CharField(max_length=200)
        role = CharField(max_length=16)
        token_hash = CharField(unique=True, max_length=64)
        created_at = DateTimeField()
        revoked_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "api_token"

    db.create_tables([ApiToken])

    class AuditRecord(Model):
        at = DateTimeField(index=True)
        actor = CharField(max_length=200)
        action = CharField(max_length=32)
        entity = CharField(max_length=32)
        entity_id = CharField(max_length=64)
        before = JSONField(null=True)
        after = JSONField(null=True)

        class Meta:
            database = db
            table_name = "audit_record"
            indexes = ((("entity", "entity_id", "id"), False),)

    db.create_tables([AuditRecord])

    class Incident(Model):
        title = CharField(max_length=200)
        summary = TextField(default="")
        status = CharField(index=True, max_length=16, default="open")
        grade = CharField(index=True, null=True, max_length=8)
        grade_reason = TextField(default="")
        impact_started_at = DateTimeField()
        detected_at = DateTimeField(index=True)
        acknowledged_at = DateTimeField(null=True)
        mitigated_at = DateTimeField(null=True)
        resolved_at = DateTimeField(null=True)
        impact_ratio = DoubleField(default=1.0)
        counts_toward_availability = BooleanField(default=True)
        responsibility = JSONField(default=list)
        root_cause = CharField(max_length=32, default="unknown")
        detection_source = CharField(max_length=32, default="monitoring")
        location = CharField(max_length=200, default="")
        affected_transactions = BigIntegerField(null=True)
        affected_amount = BigIntegerField(null=True)
        fund_loss = BigIntegerField(null=True)
        regulatory_level = CharField(max_length=16, default="none")
        postmortem_url = CharField(null=True, max_length=2000)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        created_by = CharField(max_length=200)

        class Meta:
            database = db
            table_name = "incident"
            indexes = ((("detected_at", "id"), False),)

    db.create_tables([Incident])

    class Service(Model):
        key = CharField(unique=True, max_length=63)
        name = CharField(max_length=200)
        tier = SmallIntegerField()
        objective = DoubleField()
        description = TextField(default="")
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "service"

    db.create_tables([Service])

    class IncidentService(Model):
        incident = ForeignKeyField(Incident, on_delete="CASCADE")
        service = ForeignKeyField(Service, on_delete="RESTRICT")

        class Meta:
            database = db
            table_name = "incident_service"
            indexes = ((("incident", "service"), True),)

    db.create_tables([IncidentService])

    class MaintenanceWindow(Model):
        services = JSONField()
        starts_at = DateTimeField(index=True)
        ends_at = DateTimeField()
        reason = TextField()
        announced_at = DateTimeField()
        created_at = DateTimeField()
        created_by = CharField(max_length=200)

        class Meta:
            database = db
            table_name = "maintenance_window"

    db.create_tables([MaintenanceWindow])

    class TimelineEntry(Model):
        incident = ForeignKeyField(Incident, on_delete="CASCADE")
        at = DateTimeField()
        text = TextField()
        author = CharField(max_length=200)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "timeline_entry"

    db.create_tables([TimelineEntry])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("timeline_entry"))
    migrator.migrate(migrator.drop_table("maintenance_window"))
    migrator.migrate(migrator.drop_table("incident_service"))
    migrator.migrate(migrator.drop_table("service"))
    migrator.migrate(migrator.drop_table("incident"))
    migrator.migrate(migrator.drop_table("audit_record"))
    migrator.migrate(migrator.drop_table("api_token"))
