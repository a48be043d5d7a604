"""Excel imports of existing ledgers: the person ledger (在册人员台账) and drug-test results. Rows go
through the same forms and services as the pages, so duplicates, scope and rules apply as there."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from core.imports import Column, ImportSpec, registry

from . import models, services
from .choices import DRUG_TYPES, TestResult, TestSample
from .forms import PersonRegisterForm


class DrugTypesCell(forms.CharField):
    """One ledger cell with several drugs, separated by 、 , ， ; or ；; each must be a known name."""

    def clean(self, value):
        text = super().clean(value) or ""
        names = [n.strip() for n in re.split(r"[、,，;；]", text) if n.strip()]
        unknown = [n for n in names if n not in DRUG_TYPES]
        if unknown:
            raise forms.ValidationError(_("Unknown drug %(names)s; use: %(known)s")
                                        % {"names": "、".join(unknown), "known": "、".join(DRUG_TYPES)})
        return names


class PersonRowForm(PersonRegisterForm):
    """A ledger row: a new person is registered; a known ID number (in scope) is left as it is."""

    drug_types = DrugTypesCell(label=_("drugs used"), required=False)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    def has_changed(self):
        return self.instance is None

    def save(self, user=None):
        return services.register_person(user, **self.cleaned_data)


def _find_person(data):
    value = (data.get("id_number") or "").strip()
    return services.find_by_id_number(value) if value else None


PERSONS = registry.register(ImportSpec(
    name="casework.person",
    label=_("Registered persons (ledger)"),
    model=models.Person,
    form_class=PersonRowForm,
    key_fields=("id_number",),
    find_existing=_find_person,
    save=lambda form, user: form.save(user),
    columns=[
        Column("name", "姓名", example="张三"),
        Column("id_number", "身份证号", example="320508199001011234"),
        Column("household_area_code", "户籍地区划代码", example="320508001"),
        Column("residence_area_code", "居住地区划代码", example="320508001001"),
        Column("grid", "网格", example="平江第3网格"),
        Column("phone", "手机号码"),
        Column("first_found_on", "初次发现日期", example="2020-05-01"),
        Column("drug_types", "滥用毒品种类", help="多种用顿号分隔，如 海洛因、甲基苯丙胺", example="甲基苯丙胺"),
    ],
))


class TestRowForm(forms.Form):
    id_number = forms.CharField(label=_("ID number"), max_length=18)
    sample = forms.ChoiceField(label=_("sample"), choices=TestSample.choices)
    collected_on = forms.DateField(label=_("collected on"))
    result = forms.ChoiceField(label=_("result"), choices=TestResult.choices)
    lab_reference = forms.CharField(label=_("laboratory reference"), max_length=60, required=False)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    def clean_id_number(self):
        person = services.find_by_id_number(self.cleaned_data["id_number"])
        if person is None:
            raise forms.ValidationError(_("No registered person has this ID number."), code="unknown_person")
        self.person = person
        return self.cleaned_data["id_number"]

    def has_changed(self):
        return self.instance is None

    def save(self, user=None):
        data = self.cleaned_data
        return services.record_test(self.person, sample=data["sample"], collected_on=data["collected_on"],
                                    result=data["result"], performed_by=user, lab_reference=data["lab_reference"],
                                    method="lab")


def _find_test(data):
    person = _find_person(data)
    if person is None or not data.get("collected_on"):
        return None
    return models.DrugTest.objects.filter(person=person, sample=data.get("sample", ""),
                                          collected_on=data["collected_on"]).first()


TESTS = registry.register(ImportSpec(
    name="casework.drugtest",
    label=_("Drug-test results"),
    model=models.DrugTest,
    form_class=TestRowForm,
    key_fields=("id_number", "sample", "collected_on"),
    find_existing=_find_test,
    save=lambda form, user: form.save(user),
    also_for=(models.Person,),
    columns=[
        Column("id_number", "身份证号"),
        Column("sample", "样本", example="尿检"),
        Column("collected_on", "采样日期", example="2026-03-05"),
        Column("result", "结果", example="阴性"),
        Column("lab_reference", "检验编号"),
    ],
))
