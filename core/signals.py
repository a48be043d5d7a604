"""Access-log entries for authentication events (等保 8.1.4.3: success and failure)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .audit import log_access, log_access_as
from .models import AccessLog


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    log_access(AccessLog.Event.LOGIN, user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        log_access(AccessLog.Event.LOGOUT, user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    log_access_as(username, AccessLog.Event.LOGIN_FAILED, result=AccessLog.Result.FAILURE,
                  object_type="users.user", object_repr=username)


@receiver(user_locked_out)
def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    log_access_as(str(username or "")[:150], AccessLog.Event.LOCKED_OUT, result=AccessLog.Result.DENIED,
                  object_type="users.user", object_repr=str(username or ""))
