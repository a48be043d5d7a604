"""Incidents come in through the register page, the API and imports alike; linking a person to an incident marked
as a high-risk trigger raises the person to high risk at once, whichever door it came through."""

from django.db.models.signals import m2m_changed, post_save


def _persons_linked(sender, instance, action, pk_set, **kwargs):
    if action != "post_add" or not pk_set or not instance.high_risk_trigger:
        return
    from .risk_service import _apply_level

    for person in instance.persons.filter(pk__in=pk_set):
        _apply_level(person, "high")


def _incident_saved(sender, instance, created, **kwargs):
    if not created and instance.high_risk_trigger:
        from .risk_service import incident_recorded

        incident_recorded(instance)


def connect():
    from .models import Incident

    m2m_changed.connect(_persons_linked, sender=Incident.persons.through, dispatch_uid="casework_incident_persons")
    post_save.connect(_incident_saved, sender=Incident, dispatch_uid="casework_incident_saved")
