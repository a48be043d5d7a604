import uuid

from .context import Actor, reset_actor, set_actor


def client_ip(request) -> str | None:
    # Behind the city's reverse proxy the proxy sets X-Forwarded-For; trust only its first hop.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        return forwarded.split(",")[0].strip()
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
