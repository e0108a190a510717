"""Request validation as the spec means it: JSON Schema with ECMA-262 patterns, bodies parsed strictly.

Connexion validates with `jsonschema` and Python's `re`, where `$` also matches before a final
newline: `?sort=title%0A` passed the spec's sort pattern and reached the handler. Here `$` means the
end of the string, as in ECMA-262 (what the spec's patterns are written in and clients check).
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import orjson
from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, Draft7Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from starlette.datastructures import QueryParams
from starlette.types import Scope

from handlers.core.problems import BadRequest, InvalidRequest
from handlers.core.violations import Violation, body_violations, describe

# Parameter verdicts remembered per app (a few hundred bytes each); all are forgotten when it is full.
MAX_REMEMBERED_PROBLEMS = 4096
MAX_REMEMBERED_LENGTH = 256  # longer texts are checked each time (a user id is at most 255)
# Draft 7's checker: Draft 4's has no `date` format, which the spec's DateOrDateTime uses.
FORMAT_CHECKER = Draft7Validator.FORMAT_CHECKER


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    # An unescaped `$` becomes `\Z` (end of string only). The spec has no `$` inside a class.
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def ecma_pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError("does not match the pattern")  # worded for users by handlers.core.violations


ParameterSchemaValidator = extend(Draft4Validator, {"pattern": ecma_pattern})  # type: ignore[no-untyped-call]
BodySchemaValidator = extend(Draft4RequestValidator, {"pattern": ecma_pattern})  # type: ignore[no-untyped-call]


class SchemaValidators:
    """One app's compiled schema validators. Connexion builds a schema validator per request (a deep
    copy and a new validator for each parameter); the app's spec dicts live as long as the app, so one
    validator per schema serves every request. Owned by the app (see `validator_map`), so an app's
    spec and validators go when it goes."""

    def __init__(self) -> None:
        self._validators: dict[tuple[type, int], tuple[dict[str, Any], Validator]] = {}
        self._problems: dict[tuple[int, str, type, Any], str | None] = {}

    def get(self, cls: type, schema: dict[str, Any]) -> Validator:
        cached = self._validators.get((cls, id(schema)))
        if cached is None or cached[0] is not schema:  # keyed by identity; the entry keeps `schema` alive
            cached = (schema, cls(schema, format_checker=FORMAT_CHECKER))
            self._validators[(cls, id(schema))] = cached
        return cached[1]

    def parameter_problem(self, schema: dict[str, Any], value: Any, name: str) -> str | None:
        """What is wrong with `value` for a parameter `name` of `schema`, None when nothing. Remembered
        for short scalar values: a worker sees the same user ids, task ids, page sizes and sorts again and
        again. Checking a user id takes Python's jsonschema 2.6 µs, remembering it 0.35 µs (timeit)."""
        short = isinstance(value, int | float) or (isinstance(value, str) and len(value) <= MAX_REMEMBERED_LENGTH)
        key = (id(schema), name, type(value), value) if short else None
        if key is not None and key in self._problems:
            return self._problems[key]
        error = next(iter(self.get(ParameterSchemaValidator, schema).iter_errors(value)), None)
        problem = describe(error, name) if error else None
        if key is not None:  # `schema` stays alive in `_validators`, so its id means it alone
            if len(self._problems) >= MAX_REMEMBERED_PROBLEMS:
                self._problems.clear()
            self._problems[key] = problem
        return problem


ASCII_INTEGER = re.compile(r"-?[0-9]+")


class SpecParameterValidator(ParameterValidator):
    schemas: SchemaValidators  # set per app by `validator_map`

    """Connexion's parameter validation with ECMA patterns and cached schema validators.

    Connexion validates integers after Python's int(), which also takes "+1", " 1", "1_0" and
    non-ASCII digits; here the raw text must be ASCII digits, and a parameter may be given once."""

    def validate_request(self, request: Any) -> None:
        """Every parameter checked, every problem reported (Connexion stops at the first)."""
        violations: list[Violation] = []
        if self.strict_validation:
            extra = self.validate_query_parameter_list(request, security_params=self.security_query_params)
            violations += [
                {"detail": f"{name} is not a parameter of this operation", "parameter": name} for name in sorted(extra)
            ]
        raw_query = QueryParams(request.scope.get("query_string", b""))
        raw_path = request.scope.get("path_params", {})
        for param in self.unique_parameters():
            name, where = param["name"], param["in"]
            values = raw_query.getlist(name) if where == "query" else [raw_path[name]] if name in raw_path else []
            detail = self.raw_problem(param, values)
            if detail is None:
                check = self.validate_query_parameter if where == "query" else self.validate_path_parameter
                detail = check(param, request)
            if detail:
                violations.append({"detail": detail, "parameter": name})
        if violations:
            raise InvalidRequest(violations)

    def unique_parameters(self) -> list[dict[str, Any]]:
        # Connexion's OpenAPIOperation does `operation["parameters"] += path_parameters`, in place, each
        # time one of its middlewares builds the operation: an operation with parameters of its own sees
        # the path's 6 times (measured), and each would be reported again.
        params = [*self.parameters.get("path", []), *self.parameters.get("query", [])]
        return list({(p["in"], p["name"]): p for p in params}.values())

    def raw_problem(self, param: dict[str, Any], values: list[str]) -> str | None:
        name, schema = param["name"], param["schema"]
        if len(values) > 1 and schema.get("type") != "array":
            return f"{name} may be given only once"
        if values and schema.get("type") == "integer" and not ASCII_INTEGER.fullmatch(values[0]):
            return f"{name} must be an integer (ASCII digits, optionally after a minus sign)"
        if values == [""] and not self.accepts_empty(schema):
            # Connexion reads `?due_before=` as absent; only parameters whose schema admits "" may be empty.
            return f"{name} must not be empty"
        return None

    def accepts_empty(self, schema: dict[str, Any]) -> bool:
        return schema.get("type") == "string" and self.schemas.get(ParameterSchemaValidator, schema).is_valid("")

    def validate_parameter(
        self, parameter_type: str, value: Any, param: dict[str, Any], param_name: Any = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            return f"{param['name']} is required" if param.get("required") else None
        return self.schemas.parameter_problem(param.get("schema", param), value, param["name"])


class StrictJSONBodyValidator(JSONRequestBodyValidator):
    """Bodies parsed with orjson, which rejects what the standard library lets through to a 500 later:
    invalid UTF-8, lone surrogates (unencodable for the database), NaN/Infinity, and nesting deep
    enough to raise RecursionError. Validated with ECMA patterns."""

    schemas: SchemaValidators  # set per app by `validator_map`

    @property
    def _validator(self) -> Validator:
        return self.schemas.get(BodySchemaValidator, self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"The body is not valid JSON: {exc.msg}", pointer="#") from None
        if body is None:
            raise BadRequest("The body must be a JSON object, not null", pointer="#")
        return body

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None and not self._required:
            return None  # an optional body that was not sent (PATCH .../complete toggles)
        if body is None:
            raise BadRequest("The body must not be empty; send a JSON object", pointer="#")
        violations = body_violations(self._validator.iter_errors(body))
        if violations:
            raise InvalidRequest(violations)
        return None


def validator_map() -> dict[str, Any]:
    """`add_api(validator_map=...)` for one app: Connexion's validators, with these for parameters and
    JSON bodies, sharing one `SchemaValidators` that lives as long as the app."""
    schemas = SchemaValidators()
    parameter = type("AppParameterValidator", (SpecParameterValidator,), {"schemas": schemas})
    body = type("AppJSONBodyValidator", (StrictJSONBodyValidator,), {"schemas": schemas})
    return {**VALIDATOR_MAP, "parameter": parameter, "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": body})}
