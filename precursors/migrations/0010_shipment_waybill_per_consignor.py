"""A shipment track's waybill is unique per consignor (not globally), so no party can lock another out of its own
waybill by filing first."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('precursors', '0009_shipment_tracks'),
    ]

    operations = [
        migrations.AlterField(
            model_name='shipment',
            name='waybill',
            field=models.CharField(db_index=True, max_length=100, verbose_name='waybill number'),
        ),
        migrations.AddConstraint(
            model_name='shipment',
            constraint=models.UniqueConstraint(fields=('waybill', 'party'), name='precursors_shipment_unique_waybill'),
        ),
    ]
