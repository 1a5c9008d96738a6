"""Authentication endpoints: API tokens, and the browser session the Vue app uses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ErrorDetail, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from project.api import ApiViewMixin, RejectUnknownFieldsMixin, StrictCharField, UtcDateTimeField
from project.login_throttle import locked_message, retry_after

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid username or password."
LOCKED_DESCRIPTION = (
    "Too many failed logins for this username (5 within 15 minutes): refused, even with the "
    "right password, for the seconds `Retry-After` gives"
)
TAG = "auth"


class InvalidCredentials(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = INVALID_CREDENTIALS
    default_code = "invalid_credentials"


class CredentialsSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`")
    expires_at = UtcDateTimeField(help_text="When the token stops working (UTC)")


class LoginLocked(Throttled):
    """429 with `Retry-After`: too many failed logins for the username."""

    def __init__(self, wait: int) -> None:
        super().__init__(wait=wait)
        self.detail = ErrorDetail(locked_message(wait), code=self.default_code)


class LoginLockedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class SessionUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    is_superuser = serializers.BooleanField()
    can_change_devices = serializers.BooleanField()


class SessionSerializer(serializers.Serializer):
    authenticated = serializers.BooleanField()
    user = SessionUserSerializer(allow_null=True)
    display_timezone = serializers.CharField(help_text="IANA zone dates and times are shown in")


def _authenticate(request: Request) -> Any:
    """The active user the body's credentials name, else a 400 (429 while the username is
    locked out by the login throttle: project.login_throttle, which also logs the refusal)."""
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(
        request._request,
        username=serializer.validated_data["username"],
        password=serializer.validated_data["password"],
    )
    if user is None:
        wait = retry_after(request._request)
        if wait:
            raise LoginLocked(wait)
        raise InvalidCredentials()
    return user


# What the signed-in user may do, as the apps decide it (each registers its rule in its
# AppConfig.ready): the web pages show or hide actions by it. Unregistered: False.
USER_CAPABILITIES = ("can_change_devices",)
_capability_rules: dict[str, Callable[[Any], bool]] = {}


def register_user_capability(name: str, rule: Callable[[Any], bool]) -> None:
    """Let `rule(user)` answer the session's `user.<name>` (one of USER_CAPABILITIES)."""
    if name not in USER_CAPABILITIES:
        raise ValueError(f"unknown user capability {name!r}")
    _capability_rules[name] = rule


def session_payload(user: Any) -> dict[str, Any]:
    """What `GET /api/auth/session/` answers for `user`."""
    authenticated = bool(user is not None and user.is_authenticated)
    return {
        "authenticated": authenticated,
        "user": {
            "id": user.pk,
            "username": user.get_username(),
            "is_staff": bool(user.is_staff),
            "is_superuser": bool(user.is_superuser),
            **{
                name: bool(_capability_rules[name](user)) if name in _capability_rules
                else False
                for name in USER_CAPABILITIES
            },
        }
        if authenticated
        else None,
        "display_timezone": settings.DEVICEVAULT.display_timezone,
    }


class TokenView(ApiViewMixin, APIView):
    """`POST /api/auth/token/`: exchange a username and password for a new API token.

    Each call makes a new token (knox stores only its digest, so an old one cannot be shown
    again); it expires after `DEVICEVAULT_TOKEN_TTL_HOURS`. The user's expired tokens go.
    """

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []  # the credentials are in the body
    error_responses = {429: LOCKED_DESCRIPTION}

    @extend_schema(
        tags=[TAG],
        operation_id="auth_token",
        summary="Get an API token",
        request=CredentialsSerializer,
        responses={200: TokenSerializer},
    )
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        instance, token = AuthToken.objects.create(user=user)
        logger.info("token issued: user=%s expires_at=%s", user.pk, instance.expiry.isoformat())
        return Response(TokenSerializer({"token": token, "expires_at": instance.expiry}).data)


class LogoutView(ApiViewMixin, APIView):
    """`POST /api/auth/logout/`: revoke the token the request is authenticated with.

    Other tokens of the user stay valid. A session-authenticated call (CSRF-checked) ends
    the session instead.
    """

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        operation_id="auth_logout",
        summary="Revoke the token used (or end the session)",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
            logger.info("token revoked: user=%s", request.user.pk)
        else:
            logger.info("logout: user=%s", request.user.pk)
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionView(ApiViewMixin, APIView):
    """`/api/auth/session/`: who is logged in (GET), log in (POST), log out (DELETE).

    GET always answers 200 (whatever its query string) and sets the `csrftoken` cookie that
    the unsafe methods need. Logging in is CSRF-checked too (no login CSRF), logging out by
    DRF's SessionAuthentication.
    """

    permission_classes = [AllowAny]
    always_ok_methods = ("GET",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method in self.always_ok_methods:
            APIView.initial(self, request, *args, **kwargs)  # promised: 200 always
            self.params = {}
            return
        super().initial(request, *args, **kwargs)

    @extend_schema(
        tags=[TAG],
        operation_id="auth_session_read",
        summary="The current session (also sets the csrftoken cookie)",
        responses={200: SessionSerializer},
    )
    @method_decorator(ensure_csrf_cookie)
    def get(self, request: Request) -> Response:
        return Response(session_payload(request.user))

    @extend_schema(
        tags=[TAG],
        operation_id="auth_session_login",
        summary="Log in (send the X-CSRFToken header)",
        request=CredentialsSerializer,
        responses={
            200: SessionSerializer,
            429: OpenApiResponse(response=LoginLockedSerializer, description=LOCKED_DESCRIPTION),
        },
    )
    def post(self, request: Request) -> Response:
        SessionAuthentication().enforce_csrf(request)
        user = _authenticate(request)
        login(request._request, user)
        logger.info("login: user=%s", user.pk)
        return Response(session_payload(user))

    @extend_schema(
        tags=[TAG],
        operation_id="auth_session_logout",
        summary="Log out",
        request=None,
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        if request.user.is_authenticated:
            logger.info("logout: user=%s", request.user.pk)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
