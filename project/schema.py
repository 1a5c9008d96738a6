"""OpenAPI generation: drf-spectacular's AutoSchema plus what every DeviceVault view shares."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from project.api import NoQueryParams

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        'An error: `{"detail": "message"}`, or a list of messages per field or query '
        'parameter (`{"hour": ["..."]}`).'
    ),
    "additionalProperties": {},
}

_ERROR_DESCRIPTIONS = {
    "400": "Invalid request body or query parameters",
    "401": "Not authenticated",
    "403": "Not authenticated, or not allowed",
    "404": "Not found (or not visible to this user)",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error answers every endpoint can give.

    Views declare their success bodies; the 400/401/403/404 they share are added here once,
    with any `error_responses = {code: description}` of the view, and so are the query
    parameters of each view's `query_serializer_class`.
    """

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        """In a response every field of the serializer is required, as DRF writes them all.

        A field's `required=False` only says that a request may leave it out (the front end's
        generated types read this). A serializer that describes a hand-built answer names the
        fields it may leave out in `optional_in_response`.
        """
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response":
            optional = set(getattr(force_instance(serializer), "optional_in_response", ()))
            schema["required"] = sorted(set(schema.get("properties", {})) - optional)
            if not schema["required"]:
                del schema["required"]
        return schema

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        get_class = getattr(self.view, "get_query_serializer_class", None)
        if get_class is not None:
            query_class = get_class()
            if query_class is not NoQueryParams and query_class not in parameters:
                parameters.append(query_class)
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = [] if getattr(self.view, "always_ok_methods", ()) == (self.method,) else ["400"]
        if not self._allows_anonymous():
            codes += ["401", "403"]
        elif self.method != "GET" and self._uses_session():
            codes += ["403"]  # CSRF
        if "{" in self.path or self._is_list_view() or self._is_paginated():
            codes.append("404")
        extra = getattr(self.view, "error_responses", {})
        for code in [*codes, *map(str, extra)]:
            responses.setdefault(
                code,
                {
                    "description": _ERROR_DESCRIPTIONS.get(code) or extra.get(int(code), ""),
                    "content": {"application/json": {"schema": self.error_component()}},
                },
            )
        return responses

    def error_component(self) -> dict[str, Any]:
        """`$ref` to the shared `Error` schema component (registered on first use)."""
        component = ResolvedComponent(
            name="Error", type=ResolvedComponent.SCHEMA, schema=ERROR_SCHEMA, object="Error"
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _allows_anonymous(self) -> bool:
        return any(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _uses_session(self) -> bool:
        return any(isinstance(a, SessionAuthentication) for a in self.view.get_authenticators())

    def _is_paginated(self) -> bool:
        return bool(getattr(self.view, "pagination_class", None)) and self.method == "GET" and (
            getattr(self.view, "action", None) == "list"
        )
