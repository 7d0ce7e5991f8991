"""The schemas and answers `openapi.document()` is built from (see that module)."""

from __future__ import annotations

from typing import Any

from hm_tui.emulator.vehicle_data import data_brand_of

VIN_PATTERN = "^[A-HJ-NPR-Z0-9]{17}$"
TIME_OPERATORS = ["eq", "lt", "gt", "lte", "gte"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props, **extra}


_STRING = {"type": "string"}
_TAGS = {"type": "object", "additionalProperties": _STRING}


def errors_answer(
    description: str, *, retry_after: bool = False, request_id: bool = False
) -> dict[str, Any]:
    """An answer in the platform's errors shape (with `request_id` for the Vehicle Data API)."""
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref("DataErrors" if request_id else "Errors")}},
    }
    if retry_after:
        answer["headers"] = {
            "Retry-After": {
                "description": "Whole seconds to wait before calling again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    return answer


def oauth_error(description: str) -> dict[str, Any]:
    """An answer in the OAuth shape the token path uses."""
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("OAuthError")}},
    }


def _errors() -> dict[str, Any]:
    error = _object(
        ["title", "detail"],
        {"title": _STRING, "detail": _STRING, "source": _STRING},
        additionalProperties=False,
    )
    errors = {"type": "array", "minItems": 1, "items": _ref("Error")}
    return {
        "Error": error,
        "Errors": _object(["errors"], {"errors": errors}, additionalProperties=False),
        "DataErrors": _object(
            ["errors", "request_id"],
            {"errors": errors, "request_id": _STRING},
            additionalProperties=False,
        ),
        "OAuthError": _object(
            ["error", "error_description"],
            {"error": _STRING, "error_description": _STRING},
            additionalProperties=False,
        ),
    }


def _tokens() -> dict[str, Any]:
    client = {
        "client_id": _STRING,
        "client_secret": _STRING,
        "client_assertion_type": _STRING,
        "client_assertion": _STRING,
    }
    return {
        "TokenRequest": _object(
            ["grant_type", "client_id"], {"grant_type": {"enum": ["client_credentials"]}, **client}
        ),
        "RevokeRequest": _object(
            ["token", "client_id"],
            {"token": _STRING, "token_type_hint": {"enum": ["access_token", "refresh_token"]}}
            | client,
        ),
        "TokenAnswer": _object(
            ["access_token", "expires_in", "scope", "token_type"],
            {
                "access_token": _STRING,
                "expires_in": {"type": "integer", "minimum": 1},
                "scope": _STRING,
                "token_type": {"enum": ["bearer"]},
            },
        ),
        "Empty": {"type": "object", "maxProperties": 0},
    }


def _filter() -> dict[str, Any]:
    def condition(operators: list[str], value: dict[str, Any]) -> dict[str, Any]:
        return _object(["operator", "value"], {"operator": {"enum": operators}, "value": value})

    plain = {
        "oneOf": [
            condition(["eq"], _STRING),
            condition(["in"], {"type": "array", "items": _STRING}),
        ]
    }
    tags = condition(["eq", "contains"], _TAGS)
    when = condition(TIME_OPERATORS, {"type": "string", "format": "date-time"})
    fields = {"vin": plain, "status": plain, "brand": plain, "tags": tags}
    fields |= {"approved_at": when, "inserted_at": when}
    return {"Filter": {"type": "object", "properties": fields, "additionalProperties": False}}


def _adding(brands: list[str], statuses: list[str]) -> dict[str, Any]:
    odometer = _object(
        ["value", "unit"],
        {"value": {"type": "integer"}, "unit": {"enum": ["kilometers", "miles"]}},
    )
    return {
        "NewVehicle": _object(
            ["vin", "brand"],
            {
                "vin": {"type": "string", "pattern": VIN_PATTERN},
                "brand": {"enum": brands},
                "tags": _TAGS,
                "control_measures": _object([], {"odometer": odometer}),
            },
        ),
        "AddRequest": _object(
            ["vehicles"], {"vehicles": {"type": "array", "items": _ref("NewVehicle")}}
        ),
        "AddResult": _object(
            ["vin", "status"],
            {"vin": _STRING, "status": {"enum": [*statuses, "error"]}, "description": _STRING}
            | {"tags": _TAGS},
        ),
        "AddAnswer": _object(
            ["vehicles"], {"vehicles": {"type": "array", "items": _ref("AddResult")}}
        ),
    }


def _clearances(brands: list[str], statuses: list[str]) -> dict[str, Any]:
    change = _object(
        ["timestamp", "status"],
        {"timestamp": {"type": "string", "format": "date-time"}, "status": {"enum": statuses}},
    )
    change["properties"]["reason"] = _STRING
    return {
        "Clearance": _object(
            ["vin", "status", "brand", "tags", "changelog"],
            {"vin": _STRING, "status": {"enum": statuses}, "brand": {"enum": brands}}
            | {"tags": _TAGS, "changelog": {"type": "array", "items": change}},
            additionalProperties=False,
        ),
        "ClearanceList": {"type": "array", "items": _ref("Clearance")},
        "Removal": _object(
            ["vin", "status", "tags"],
            {"vin": _STRING, "status": {"enum": ["revoking", "canceling"]}, "tags": _TAGS},
        ),
    }


def _eligibility(brands: list[str]) -> dict[str, Any]:
    return {
        "EligibilityRequest": _object(
            ["vin", "brand"], {"vin": _STRING, "brand": {"enum": brands}}
        ),
        "Eligibility": _object(
            ["vin", "eligible", "data_delivery"],
            {
                "vin": _STRING,
                "eligible": {"type": "boolean"},
                "data_delivery": {"type": "array", "items": {"enum": ["pull", "push"]}},
                "connectivity_status": {"enum": ["activated", "deactivated", "unknown"]},
                "primary_user_assigned": {"type": "boolean"},
            },
            additionalProperties=False,
        ),
    }


def _vehicle_data(brands: list[str]) -> dict[str, Any]:
    failure = _object(["reason", "description"], {"reason": _STRING, "description": _STRING})
    point = {
        "type": "object",
        "minProperties": 1,
        "properties": {
            "data": {},
            "timestamp": {"type": "string", "format": "date-time"},
            "failure": failure,
        },
        "additionalProperties": False,
    }
    prop = {"oneOf": [_ref("DataPoint"), {"type": "array", "items": _ref("DataPoint")}]}
    capability = {"type": "object", "additionalProperties": prop}
    data_brands = sorted({data_brand_of(b) for b in brands})
    return {
        "DataPoint": point,
        "VehicleData": _object(
            ["request_id", "vin", "brand"],
            {"request_id": _STRING, "vin": _STRING, "brand": {"enum": data_brands}},
            additionalProperties=capability,
        ),
    }


def components(*, brands: list[str], statuses: list[str], eligibility: list[str]) -> dict[str, Any]:
    """The document's `components`: schemas, and the bearer token scheme."""
    schemas = _errors() | _tokens() | _filter() | _adding(brands, statuses)
    schemas |= _clearances(brands, statuses)
    schemas |= _eligibility(eligibility) | _vehicle_data(brands)
    return {
        "schemas": schemas,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    }
