from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login gets: JSON for the API, a page for the browser (django-axes hook)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Account locked after repeated failed logins. Try again later."),
                             "code": "locked_out"}, status=403)
    return render(request, "users/locked_out.html", status=403)
