"""Shipment tracks for R29 (planned route, GPS fixes, departure and arrival). GPS fixes are append-only: database
triggers refuse UPDATE and DELETE, as on the event store (an ALTER of this table would make SQLite rebuild it and
drop them: re-create them in that migration)."""

import django.db.models.deletion
from django.db import migrations, models

from core.triggers import append_only

create_triggers, drop_triggers = append_only(("precursors_shipmentfix",))


class Migration(migrations.Migration):

    dependencies = [
        ('precursors', '0008_retractions_append_only'),
        ('core', '0003_audit_append_only_triggers'),
    ]

    operations = [
        migrations.CreateModel(
            name='Shipment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated', models.DateTimeField(auto_now=True, verbose_name='updated')),
                ('waybill', models.CharField(max_length=100, unique=True, verbose_name='waybill number')),
                ('area_code', models.CharField(db_index=True, editable=False, max_length=15, verbose_name='area code')),
                ('vehicle_plate', models.CharField(blank=True, max_length=20, verbose_name='vehicle plate')),
                ('permit_no', models.CharField(blank=True, max_length=80, verbose_name='transport permit or filing')),
                ('planned_route', models.JSONField(default=list, help_text='[[lon, lat], …] in WGS-84, from origin to destination.', verbose_name='planned route')),
                ('departed_at', models.DateTimeField(blank=True, null=True, verbose_name='departed at')),
                ('eta', models.DateTimeField(blank=True, null=True, verbose_name='expected arrival')),
                ('arrived_at', models.DateTimeField(blank=True, null=True, verbose_name='arrived at')),
                ('departure_kg', models.FloatField(blank=True, null=True, verbose_name='weight at departure (kg)')),
                ('arrival_kg', models.FloatField(blank=True, null=True, verbose_name='weight at arrival (kg)')),
                ('note', models.CharField(blank=True, max_length=300, verbose_name='note')),
                ('carrier', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='precursors.party', verbose_name='carrier')),
                ('party', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='shipments', to='precursors.party', verbose_name='consignor')),
            ],
            options={
                'verbose_name': 'shipment track',
                'verbose_name_plural': 'shipment tracks',
                'ordering': ['-departed_at', 'waybill'],
            },
        ),
        migrations.CreateModel(
            name='ShipmentFix',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('time', models.DateTimeField(verbose_name='time')),
                ('lon', models.FloatField(verbose_name='longitude')),
                ('lat', models.FloatField(verbose_name='latitude')),
                ('shipment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='fixes', to='precursors.shipment', verbose_name='shipment track')),
            ],
            options={
                'verbose_name': 'GPS fix',
                'verbose_name_plural': 'GPS fixes',
                'ordering': ['shipment', 'time'],
                'constraints': [models.UniqueConstraint(fields=('shipment', 'time'), name='precursors_fix_unique_time')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
