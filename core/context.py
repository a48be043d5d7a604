"""Who is acting right now: set by the request middleware, by job runners and by commands.

Audit rows read this instead of threading the request through every service call. For a web or
API request the user is read lazily from the request, because authentication (session or token)
happens after the middleware that opens the context.
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar


class Actor:
    def __init__(self, *, user=None, request=None, ip=None, request_id=None, channel="system", username=""):
        self._user = user
        self.request = request
        self.ip = ip
        self.request_id = request_id or uuid.uuid4()
        self.channel = channel
        self._username = username

    @property
    def user(self):
        user = self._user
        if user is None and self.request is not None:
            user = getattr(self.request, "user", None)
        return user if user is not None and getattr(user, "is_authenticated", False) else None

    @property
    def user_id(self) -> int | None:
        user = self.user
        return user.pk if user is not None else None

    @property
    def username(self) -> str:
        user = self.user
        return user.get_username() if user is not None else self._username


_current: ContextVar[Actor | None] = ContextVar("jindu_actor", default=None)


def current_actor() -> Actor:
    return _current.get() or Actor()


@contextmanager
def acting_as(user=None, *, ip=None, channel="system", username="", request_id=None):
    """Run a block as a given user (None for the system), e.g. in a job or a management command."""
    token = _current.set(Actor(user=user, ip=ip, channel=channel, username=username, request_id=request_id))
    try:
        yield
    finally:
        _current.reset(token)


def set_actor(actor: Actor):
    return _current.set(actor)


def reset_actor(token) -> None:
    _current.reset(token)
