import uuid

from django.conf import settings

from .context import Actor, reset_actor, set_actor


def client_ip(request) -> str | None:
    """The client's address for the audit log. X-Forwarded-For is trusted only when the deployment
    says a reverse proxy sets it (JINDU_TRUST_X_FORWARDED_FOR), and then only the proxy's own entry
    (the last one), which a client cannot forge."""
    if settings.JINDU_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Gives each request an id and makes (user, ip, request id) visible to the audit layer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = uuid.uuid4()
        request.client_ip = client_ip(request)
        channel = "api" if request.path.startswith("/api/") else "web"
        token = set_actor(Actor(request=request, ip=request.client_ip, request_id=request.id, channel=channel))
        try:
            response = self.get_response(request)
        finally:
            reset_actor(token)
        response["X-Request-ID"] = str(request.id)
        return response


class LanguageMiddleware:
    """Chinese unless the user picked another language (the language cookie set by the switcher).

    Django's LocaleMiddleware would follow the browser's Accept-Language; an office whose browsers
    are set to English still expects the Chinese platform.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
