"""What every DeviceVault API view shares: pagination, query checks, strict JSON fields.

Also the write-permission base and the exception handler; views mix in `ApiViewMixin`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# Largest value a database id (bigint) can hold: bigger ids are refused with 400, not looked up.
MAX_ID = 2**63 - 1

# Query parameters every endpoint accepts besides its own: DRF's format override.
COMMON_QUERY_PARAMS = frozenset({"format"})


class Pagination(PageNumberPagination):
    """`{"count","next","previous","results"}`; `page_size` may be asked for, 1 to 500.

    Unlike DRF's default, a `page` or `page_size` that is not a positive whole number (or a
    `page_size` above 500) is a 400 naming the parameter instead of being silently ignored;
    a page past the end is still DRF's 404.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    query_params = frozenset({"page", "page_size"})

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        value = _parse_positive_int(raw)
        if value is None or value > self.max_page_size:
            raise ValidationError(
                {"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return value

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw not in (None, "") and raw not in self.last_page_strings:
            if _parse_positive_int(raw) is None:
                raise ValidationError({"page": ["Must be a whole number from 1, or 'last'."]})
        return super().get_page_number(request, paginator)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """DRF's page schema, with `next` and `previous` required: every page has them."""
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "next", "previous", "results"]
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer", "minimum": 1, "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters


def _parse_positive_int(raw: str) -> int | None:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    value = int(raw)
    return value if value >= 1 else None


class NoQueryParams(serializers.Serializer):
    """The query parameters of an endpoint that takes none."""


def validate_query_params(
    request: Request,
    serializer_class: type[serializers.Serializer],
    *,
    also_allowed: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate the request's query string with `serializer_class`; 400 on anything wrong.

    A parameter that neither the serializer, `also_allowed` (say, pagination) nor DRF's
    `format` knows is refused too: a mistyped filter must not quietly return everything.
    So is an empty value (`?start=`): it is not a date, a number or a choice.
    """
    serializer = serializer_class(data=request.query_params)
    known = set(serializer.fields) | set(also_allowed) | COMMON_QUERY_PARAMS
    unknown = sorted(set(request.query_params) - known)
    errors: dict[str, Any] = {}
    if not serializer.is_valid():
        errors.update(serializer.errors)
    for name in unknown:
        errors[name] = [f"Unknown query parameter; known here: {', '.join(sorted(known))}."]
    for name in set(request.query_params) - set(unknown):
        if "" in request.query_params.getlist(name):
            errors[name] = ["May not be empty; leave the parameter out instead."]
    if errors:
        raise ValidationError(errors)
    return dict(serializer.validated_data)


class QueryParamsMixin:
    """Checks the query string of every request once, before the handler runs.

    `query_serializer_class` declares the endpoint's parameters (none by default); list
    endpoints also take the pagination ones. The validated values are in `self.params`.
    Every API view mixes this in, so unknown or malformed parameters are a 400 everywhere.
    """

    query_serializer_class: type[serializers.Serializer] = NoQueryParams
    params: dict[str, Any]

    def get_query_serializer_class(self) -> type[serializers.Serializer]:
        return self.query_serializer_class

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            return  # DRF answers 405 next; the query string is irrelevant
        allowed: frozenset[str] = frozenset()
        if (
            request.method in ("GET", "HEAD")
            and getattr(self, "pagination_class", None) is not None
            and getattr(self, "action", "list") == "list"
        ):
            allowed = Pagination.query_params
        self.params = validate_query_params(
            request, self.get_query_serializer_class(), also_allowed=allowed
        )


class RejectUnknownFieldsMixin(serializers.Serializer):
    """Refuse request bodies with keys the serializer does not know (read-only ones pass)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


# -- strict JSON fields ------------------------------------------------------------------
# Request bodies are JSON, so a value of the wrong JSON type is refused instead of coerced:
# DRF would otherwise read "5" or 5.0 as 5 and "yes" as true.


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a boolean, float or string)."""

    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(data)  # the range validators run after this


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean (not 0/1 or a string)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    """A JSON string (not a number)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class IdField(StrictIntegerField):
    """A database id in a JSON body: a whole number from 1 up to the largest bigint."""

    default_error_messages = {"invalid": "Must be an id (a whole number)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class UtcDateTimeField(serializers.DateTimeField):
    """An instant, always shown in UTC (`...Z`) whatever the display timezone."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


# -- query-string fields -----------------------------------------------------------------


class QueryIntegerField(serializers.IntegerField):
    """A whole number in the query string: digits only (no '5.0', ' 5' or '1e3')."""

    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data: Any) -> int:
        text = str(data)
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 100:
            self.fail("invalid")
        return int(text)  # the range validators run after this


class QueryIdField(QueryIntegerField):
    """An id in the query string."""

    default_error_messages = {"invalid": "Must be an id (a whole number)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class QueryBooleanField(serializers.BooleanField):
    """`true` or `false` in the query string."""

    default_error_messages = {"invalid": "Must be true or false."}
    default_empty_html = serializers.empty  # absent means "no filter", not False

    def to_internal_value(self, data: Any) -> bool:
        if data in ("true", "True"):
            return True
        if data in ("false", "False"):
            return False
        self.fail("invalid")
        raise AssertionError("unreachable")  # fail() raises


# -- views ---------------------------------------------------------------------------------


class WritePermission(BasePermission):
    """Reads are open to whoever may call the view; writes need `allowed(user)`.

    On a detail URL the check waits for the object (`has_object_permission`), so an object
    the user may not see is a 404 before a write to it is a 403: visibility comes first.
    """

    def allowed(self, user: Any) -> bool:
        raise NotImplementedError

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk")
        if lookup in getattr(view, "kwargs", {}):
            return True  # decided in has_object_permission, after the 404 check
        return self.allowed(request.user)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or self.allowed(request.user)


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with a 400 (not a 500) for JSON nested too deeply to decode."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class ApiViewMixin(QueryParamsMixin):
    """What every DeviceVault API view shares: checked query strings, JSON request bodies."""

    parser_classes = [SafeJSONParser]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn model validation errors into 400 responses with a message per field."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            detail: Any = {
                ("non_field_errors" if k == "__all__" else k): v
                for k, v in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = serializers.ValidationError(detail)
    return drf_exception_handler(exc, context)
