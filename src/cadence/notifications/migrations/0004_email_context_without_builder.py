"""Rows queued before the email registry stored the dotted path of their context's builder
under `builder`; the kind now decides (see `notifications.registry`). Drop the key from rows
still to be sent, so that no row names code. Rows already sent keep it: their text is written
and their context is history. Running it again changes nothing; going back needs nothing, as
rendering ignores the key either way."""

from django.db import migrations

BATCH = 500


def drop_builder_paths(apps, schema_editor):
    Email = apps.get_model("notifications", "Email")
    pending = Email.objects.filter(
        status__in=["queued", "sending", "failed"], context__has_key="builder"
    ).order_by("pk")
    while True:
        rows = list(pending.only("pk", "context")[:BATCH])
        if not rows:
            return
        for row in rows:
            row.context.pop("builder", None)
        Email.objects.bulk_update(rows, ["context"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_email_lease"),
    ]

    operations = [
        migrations.RunPython(drop_builder_paths, migrations.RunPython.noop, elidable=True),
    ]
