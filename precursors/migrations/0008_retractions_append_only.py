"""An error declaration's retraction (``EventRetraction``) is part of the event record: once written it is neither
changed nor removed, like the events themselves (0002). Triggers refuse UPDATE and DELETE, raw SQL included."""

from django.db import migrations

from core.triggers import append_only

create_triggers, drop_triggers = append_only(("precursors_eventretraction",))


class Migration(migrations.Migration):
    dependencies = [("precursors", "0007_permit_draws")]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
