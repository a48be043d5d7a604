"""Account administration pages: accounts (system admin), roles and role assignment, unlocking and
tokens (security admin). Each role sees only the actions its permissions grant."""

import django_filters
import django_tables2 as tables
from axes.utils import reset as axes_reset
from django import forms
from django.contrib import messages
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import log_access
from core.filtersets import AreaPrefixFilter, BaseFilterSet
from core.forms import EncryptedFieldsFormMixin
from core.models import AccessLog
from core.permissions import ensure_in_scope
from core.tables import BaseTable
from core.views import generic

from .models import Role, User


class UserFilterSet(BaseFilterSet):
    search_fields = ("username", "full_name")
    role = django_filters.ModelChoiceFilter(queryset=Role.objects.all(), label=gettext_lazy("role"))
    area = AreaPrefixFilter(field_name="area_code", label=gettext_lazy("area code"))

    class Meta:
        model = User
        fields = ["is_active", "org"]


class UserTable(BaseTable):
    username = tables.Column(linkify=True)
    exclude_from_export = ("password",)

    class Meta(BaseTable.Meta):
        model = User
        fields = ("username", "full_name", "role", "org", "area_code", "is_active", "last_login")


class UserForm(EncryptedFieldsFormMixin, forms.ModelForm):
    new_password = forms.CharField(label=gettext_lazy("new password"), required=False, widget=forms.PasswordInput,
                                   help_text=gettext_lazy("Leave empty to keep the current password."))

    class Meta:
        model = User
        fields = ["username", "full_name", "org", "area_code", "search_area_code", "id_number", "phone", "is_active",
                  "is_system_account"]

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("new_password")
        if password:
            validate_password(password, self.instance)
        elif self.instance._state.adding:
            self.add_error("new_password", _("A new account needs a password."))
        return cleaned

    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            user.set_password(self.cleaned_data["new_password"])
        if commit:
            user.save()
        return user


class UserListView(generic.ObjectListView):
    model = User
    filterset_class = UserFilterSet
    table_class = UserTable
    select_related = ("role", "org")


class UserDetailView(generic.ObjectDetailView):
    model = User
    log_reads = True  # real-name identity data
    fields = ("username", "full_name", "role", "org", "area_code", "search_area_code", "id_number", "phone", "is_active",
              "is_system_account", "last_login", "password_changed_at")

    def get_extra_context(self, obj):
        user = self.request.user
        return {"extra_actions": [
            (_("Assign role"), f"/accounts/users/{obj.pk}/role/") if user.has_resource_perm("users.user", "assign_role")
            else None,
            (_("Unlock"), f"/accounts/users/{obj.pk}/unlock/") if user.has_resource_perm("users.user", "unlock")
            else None,
            (_("Reset second factor"), f"/accounts/users/{obj.pk}/reset-otp/")
            if user.has_resource_perm("users.user", "unlock") else None,
        ]}


class UserEditView(generic.ObjectEditView):
    model = User
    form_class = UserForm


class RoleAssignForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.all(), label=gettext_lazy("role"), required=False)


def assign_role(request, pk):
    """Security administrators alone assign roles (separation of duties)."""
    if not request.user.is_authenticated or not request.user.has_resource_perm("users.user", "assign_role"):
        return render(request, "403.html", status=403)
    target = get_object_or_404(User.objects.restrict(request.user, "assign_role"), pk=pk)
    if target.pk == request.user.pk:  # nobody raises their own privileges
        messages.error(request, _("You cannot change your own role; ask another security administrator."))
        return redirect("users:user_detail", pk=target.pk)
    form = RoleAssignForm(request.POST or None, initial={"role": target.role})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            target.role = form.cleaned_data["role"]
            target.save(audit_message="role assigned")
            ensure_in_scope(target, request.user, "assign_role")
            log_access(AccessLog.Event.ADMIN, target, detail={"role": target.role.code if target.role else None})
        messages.success(request, _("Role updated."))
        return redirect("users:user_detail", pk=target.pk)
    return render(request, "core/object_edit.html", {"form": form, "object": target, "verbose_name": _("role")})


def unlock(request, pk):
    if not request.user.is_authenticated or not request.user.has_resource_perm("users.user", "unlock"):
        return render(request, "403.html", status=403)
    target = get_object_or_404(User.objects.restrict(request.user, "unlock"), pk=pk)
    if request.method == "POST":
        axes_reset(username=target.username)
        log_access(AccessLog.Event.ADMIN, target, detail={"action": "unlock"})
        messages.success(request, _("Login failures cleared for %(user)s.") % {"user": target.username})
        return redirect("users:user_detail", pk=target.pk)
    return render(request, "core/confirm.html", {"object": target, "question": _("Clear the failed-login lockout "
                                                                                 "for this account?")})


class RoleTable(BaseTable):
    code = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Role
        fields = ("code", "name", "scope_kind", "requires_otp", "builtin")


class RoleFilterSet(BaseFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Role
        fields = ["scope_kind", "builtin"]


class RoleForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ["code", "name", "description", "scope_kind", "permissions", "sections", "requires_otp"]


class RoleListView(generic.ObjectListView):
    model = Role
    filterset_class = RoleFilterSet
    table_class = RoleTable


class RoleDetailView(generic.ObjectDetailView):
    model = Role


class RoleEditView(generic.ObjectEditView):
    """Custom roles only: built-in roles are defined in users/roles.py and restored on every migrate."""

    model = Role
    form_class = RoleForm

    def get_object(self):
        obj = super().get_object()
        if obj.builtin:
            raise PermissionDenied
        return obj


def reset_second_factor(request, pk):
    """A security administrator removes a lost authenticator; the user enrols a new one at next login."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not request.user.is_authenticated or not request.user.has_resource_perm("users.user", "unlock"):
        return render(request, "403.html", status=403)
    target = get_object_or_404(User.objects.restrict(request.user, "unlock"), pk=pk)
    if request.method == "POST":
        removed, _detail = TOTPDevice.objects.filter(user=target).delete()
        log_access(AccessLog.Event.ADMIN, target, detail={"action": "reset_second_factor", "devices": removed})
        messages.success(request, _("Second factor reset for %(user)s.") % {"user": target.username})
        return redirect("users:user_detail", pk=target.pk)
    return render(request, "core/confirm.html", {"object": target, "question": _(
        "Remove this account's authenticator? The user must enrol a new one at the next login.")})


urlpatterns = [
    *generic.crud_urls(User, list_view=UserListView, detail_view=UserDetailView, edit_view=UserEditView,
                       prefix="users/"),
    path("users/<int:pk>/role/", assign_role, name="user_assign_role"),
    path("users/<int:pk>/unlock/", unlock, name="user_unlock"),
    path("users/<int:pk>/reset-otp/", reset_second_factor, name="user_reset_otp"),
    *generic.crud_urls(Role, list_view=RoleListView, detail_view=RoleDetailView, edit_view=RoleEditView,
                       prefix="roles/"),
]
