"""`/api/schema/` is a valid OpenAPI document, as openapi-spec-validator (the reference
checker of the OpenAPI ecosystem) reads it, whoever asks for it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate


@pytest.mark.parametrize("accept", ["json", "yaml"])
def test_the_served_schema_validates_with_openapi_spec_validator(
    client: Any, db: None, accept: str
) -> None:
    response = client.get(f"/api/schema/?format={accept}")
    assert response.status_code == 200
    document = response.json() if accept == "json" else yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert len(document["paths"]) > 10  # the whole API, not an empty shell
    validate(document)  # raises OpenAPIValidationError naming the first problem
