import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from core.audit import log_access
from core.models import AccessLog

SESSION_LAST_SEEN = "jindu_last_seen"


def _is_exempt(path: str) -> bool:
    exempt = ("/static/", "/i18n/", "/accounts/login/", "/accounts/logout/", "/accounts/otp/", "/api/auth/token/",
              "/accounts/password/")
    return path.startswith(exempt)


class IdleTimeoutMiddleware:
    """Log a browser session out after ``JINDU_IDLE_TIMEOUT_SECONDS`` without a request (等保 8.1.4.1b)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - last_seen > settings.JINDU_IDLE_TIMEOUT_SECONDS:
                log_access(AccessLog.Event.IDLE_TIMEOUT, user, detail={"idle_seconds": int(now - last_seen)})
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": _("Session expired after inactivity.")}, status=401)
                messages.info(request, _("You were logged out after %(minutes)d minutes without activity.")
                              % {"minutes": settings.JINDU_IDLE_TIMEOUT_SECONDS // 60})
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
            request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class AccountGateMiddleware:
    """Before anything else, privileged users must pass TOTP and everyone must renew an expired password."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or _is_exempt(request.path) or not hasattr(request, "session"):
            return self.get_response(request)
        if user.requires_otp and not user.is_verified():
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("A second factor is required for this account.")}, status=403)
            from django_otp import devices_for_user

            has_device = any(True for _d in devices_for_user(user, confirmed=True))
            target = "users:otp_verify" if has_device else "users:otp_enrol"
            return redirect(f"{reverse(target)}?next={request.path}")
        if user.password_expired:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("Your password has expired; change it first.")}, status=403)
            messages.warning(request, _("Your password has expired. Please choose a new one."))
            return redirect("users:password_change")
        return self.get_response(request)
