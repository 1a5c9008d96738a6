"""Login throttling: after 5 failed logins for one username within 15 minutes, refuse more.

Every login path (the API token, the SPA's session login, the admin) calls Django's
`authenticate()`, so the rule lives in one authentication backend, `ThrottledModelBackend`.
Each attempt takes a slot in a Redis sorted set per username *before* the password is
checked (so parallel requests cannot get past the limit), a success clears it. While 5
attempts lie within the window, even the right password is refused and the caller learns
how many seconds remain (`Retry-After`). State is in Redis, so every gunicorn worker and
host shares it.

Usernames are never stored or logged as typed (a password typed into the username field
would end up there): Redis keys and log lines carry a keyed hash (HMAC with SECRET_KEY).
If Redis cannot be reached the login is not throttled (logged): availability of the
password check wins over the lockout.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from typing import Any

import redis
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

FAILURE_LIMIT = 5  # failed logins per username ...
WINDOW_SECONDS = 15 * 60  # ... within this many seconds lock the username
KEY_PREFIX = "devicevault:login-attempts:"
# Set on the Django request by the backend when it refused a locked-out username.
REQUEST_ATTRIBUTE = "login_retry_after"

# KEYS[1]: the username's sorted set of attempt times; ARGV: now, window, limit, member.
# Returns nil when the attempt may go ahead (and records it), else the oldest attempt time
# still inside the window (the lock ends `window` seconds after it).
_BEGIN_ATTEMPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], n - tonumber(ARGV[3]), n - tonumber(ARGV[3]),
                            'WITHSCORES')
  return oldest[2]
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return false
"""


def username_hash(username: str) -> str:
    """A keyed hash of what was typed: stable per installation, useless without SECRET_KEY."""
    return salted_hmac("devicevault.login_throttle", username, algorithm="sha256").hexdigest()[
        :16
    ]


def _client() -> redis.Redis:
    from project.redis_client import redis_client  # the shared client of web and workers

    return redis_client()


def begin_attempt(username: str, *, now: float | None = None) -> int:
    """Record a login attempt for `username`; 0 if it may proceed, else seconds to wait."""
    now = time.time() if now is None else now
    try:
        oldest = _client().eval(
            _BEGIN_ATTEMPT, 1, KEY_PREFIX + username_hash(username),
            repr(now), WINDOW_SECONDS, FAILURE_LIMIT, f"{now!r}:{uuid.uuid4().hex[:8]}",
        )
    except redis.RedisError as exc:
        logger.warning("login throttle unavailable, not throttling: %s", type(exc).__name__)
        return 0
    if oldest is None:
        return 0
    return max(1, math.ceil(float(oldest) + WINDOW_SECONDS - now))


def clear_attempts(username: str) -> None:
    """Forget `username`'s attempts (after a successful login)."""
    try:
        _client().delete(KEY_PREFIX + username_hash(username))
    except redis.RedisError as exc:
        logger.warning("login throttle unavailable, attempts kept: %s", type(exc).__name__)


class ThrottledModelBackend(ModelBackend):
    """Django's username/password backend behind the per-username login throttle."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        if not isinstance(username, str) or password is None:
            return None
        who = username_hash(username)
        wait = begin_attempt(username)
        if wait:
            logger.warning("login locked: user_hash=%s retry_after=%s", who, wait)
            if request is not None:
                setattr(request, REQUEST_ATTRIBUTE, wait)
            raise PermissionDenied  # authenticate() stops here: no other backend is asked
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            logger.info("login refused: user_hash=%s", who)
        else:
            clear_attempts(username)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return str(get_user_model().USERNAME_FIELD)


def retry_after(request: HttpRequest) -> int:
    """Seconds the request's login was refused for by the throttle (0: it was not)."""
    return int(getattr(request, REQUEST_ATTRIBUTE, 0) or 0)


def locked_message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return (
        f"Too many failed logins for this username: try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )


class LoginThrottleMiddleware:
    """Turns a page whose login the throttle refused (the admin's form) into a 429.

    The API views answer 429 themselves; for a form login the page (with the form's
    message) keeps its body and gets the status and `Retry-After`.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        wait = retry_after(request)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response


def admin_login_form() -> type[Any]:
    """The admin's login form, saying why a locked-out login is refused."""
    from django import forms
    from django.contrib.admin.forms import AdminAuthenticationForm

    class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
        def get_invalid_login_error(self) -> forms.ValidationError:
            wait = retry_after(self.request) if self.request is not None else 0
            if wait:
                return forms.ValidationError(locked_message(wait), code="locked")
            return super().get_invalid_login_error()

    return ThrottledAdminAuthenticationForm


def forget_all() -> int:
    """Forget every username's attempts (unlock everyone); how many usernames were locked
    or counting. For tests and the runbook's "unlock" step."""
    try:
        client = _client()
        keys = list(client.scan_iter(match=KEY_PREFIX + "*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError as exc:
        logger.warning("login throttle unavailable, nothing forgotten: %s", type(exc).__name__)
        return 0
    return len(keys)
