"""/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator, offline)."""
from __future__ import annotations

from openapi_spec_validator import OpenAPIV31SpecValidator

from exsim.wire import openapi


def test_the_document_validates_against_the_openapi_3_1_schema():
    doc = openapi.build()
    assert doc["openapi"].startswith("3.1.")
    errors = [e.message for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []


def test_every_operation_has_a_summary_a_200_and_its_error_codes():
    for path, ops in openapi.build()["paths"].items():
        for method, op in ops.items():
            assert op["summary"], (method, path)
            assert "200" in op["responses"], (method, path)
            entry = openapi.find(method.upper(), path)
            for code in entry.errors:
                assert f"`{code}`" in op["description"], (method, path, code)


def test_schemas_come_from_the_structs():
    schemas = openapi.build()["components"]["schemas"]
    for name in ("Order", "NewOrderParams", "AdminStatus", "KlinesParams", "Error", "PositionRiskV2"):
        assert name in schemas
    assert set(schemas["Error"]["required"]) == {"code", "msg"}
