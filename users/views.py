from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.audit import log_access
from core.models import AccessLog

from . import otp


def _safe_next(request, default="home"):
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


class LoginView(auth_views.LoginView):
    template_name = "users/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from django.conf import settings

        context = super().get_context_data(**kwargs)
        context["lockout_failures"] = settings.AXES_FAILURE_LIMIT
        context["lockout_minutes"] = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        return context


class OtpForm(forms.Form):
    otp = forms.CharField(label=gettext_lazy("6-digit code"), max_length=8,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                        "autofocus": True}))


@login_required
def otp_verify(request):
    if not otp.has_confirmed_device(request.user):
        return redirect("users:otp_enrol")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = otp.verify(request.user, form.cleaned_data["otp"])
        if device is not None:
            otp_login(request, device)
            log_access(AccessLog.Event.OTP_VERIFIED, request.user)
            return redirect(_safe_next(request))
        log_access(AccessLog.Event.OTP_FAILED, request.user, result=AccessLog.Result.FAILURE)
        form.add_error("otp", _("The code is not valid. Check the time on your phone and try again."))
    return render(request, "users/otp_verify.html", {"form": form})


@login_required
def otp_enrol(request):
    if otp.has_confirmed_device(request.user) and not request.user.is_verified():
        return redirect("users:otp_verify")
    device = otp.pending_device(request.user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _why = device.verify_is_allowed()
        if not allowed:
            form.add_error("otp", _("Too many wrong codes just now; wait a few seconds and enter the current code."))
        elif device.verify_token(form.cleaned_data["otp"].strip()):
            device.confirmed = True
            device.save()
            otp_login(request, device)
            log_access(AccessLog.Event.OTP_ENROLLED, request.user)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(_safe_next(request))
        else:
            form.add_error("otp", _("The code is not valid. Check the time on your phone and enter the current "
                                    "code."))
    return render(request, "users/otp_enrol.html", {"form": form, "qr_svg": otp.qr_svg(device),
                                                    "secret": otp.base32_key(device)})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "users/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


# --- API token endpoint -------------------------------------------------------------------------

class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    otp = serializers.CharField(max_length=8, required=False, allow_blank=True)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires = serializers.DateTimeField(allow_null=True)


@extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[])
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def obtain_token(request):
    """Exchange username + password (+ TOTP code for privileged roles) for an API token.

    Failed attempts count towards the same lockout as the web login.
    """
    from django.conf import settings

    from .models import ApiToken

    data = TokenRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    username, password = data.validated_data["username"], data.validated_data["password"]
    django_request = request._request
    if AxesProxyHandler.is_locked(django_request, credentials={"username": username}):
        return Response({"detail": _("Account locked after repeated failed logins. Try again later."),
                         "code": "locked_out"}, status=status.HTTP_403_FORBIDDEN)
    user = authenticate(django_request, username=username, password=password)
    if user is None:
        if getattr(django_request, "axes_locked_out", False):
            return Response({"detail": _("Account locked after repeated failed logins. Try again later."),
                             "code": "locked_out"}, status=status.HTTP_403_FORBIDDEN)
        return Response({"detail": _("Invalid username or password.")}, status=status.HTTP_401_UNAUTHORIZED)
    if user.password_expired:
        return Response({"detail": _("Your password has expired; change it first."), "code": "password_expired"},
                        status=status.HTTP_403_FORBIDDEN)
    if user.requires_otp:
        if otp.verify(user, data.validated_data.get("otp", "")) is None:
            log_access(AccessLog.Event.OTP_FAILED, user, result=AccessLog.Result.FAILURE)
            return Response({"otp": [_("A valid one-time code is required for this account.")]},
                            status=status.HTTP_401_UNAUTHORIZED)
    days = getattr(settings, "JINDU_API_TOKEN_DAYS", 30)
    from core.context import acting_as

    with acting_as(user, ip=getattr(django_request, "client_ip", None), channel="api"):
        token, key = ApiToken.issue(user, name="api login", days=days)
        log_access(AccessLog.Event.TOKEN_ISSUED, user, detail={"token": token.prefix, "days": days})
    return Response({"token": key, "expires": token.expires})
