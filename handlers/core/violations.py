"""JSON Schema errors as sentences a form can show next to its field: `title must not be blank`, never a
regex or a Python repr. Each violation names where it is: a JSON Pointer (`#/title`) into the body, or a
query/path parameter's name (RFC 9457 §3.2 extension members, declared as `errors` in the spec's Problem).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from jsonschema import ValidationError

from handlers.inputs import WHITE_SPACE

Violation = dict[str, str]  # {"detail": ..., "pointer": "#/title"} or {"detail": ..., "parameter": "limit"}

TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "an array",
    "null": "null",
}
FORMAT_WORDS = {
    "date-time": "an RFC 3339 date-time with an offset, such as 2026-12-01T17:00:00Z",
    "date": "a date such as 2026-12-01",
}
DATE_OR_DATE_TIME = "a date (2026-12-01) or an RFC 3339 date-time with an offset (2026-12-01T17:00:00Z)"


def describe(error: ValidationError, name: str) -> str:
    """One sentence about one schema error, `name` being the field or parameter it is about."""
    keyword, expected = error.validator, cast(Any, error.validator_value)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        words = [TYPE_WORDS.get(kind, kind) for kind in kinds] + (["null"] if schema.get("nullable") else [])
        return f"{name} must be {' or '.join(words)}"
    if keyword == "enum":
        return f"{name} must be one of {', '.join(str(choice) for choice in expected if choice != '')}"
    if keyword in ("minLength", "maxLength"):
        if keyword == "minLength" and expected == 1:
            return f"{name} must not be empty"
        return f"{name} must be {'at least' if keyword == 'minLength' else 'at most'} {expected} characters long"
    if keyword in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{name} must be between {low} and {high}"
        return f"{name} must be at least {low}" if keyword == "minimum" else f"{name} must be at most {high}"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{name} must have {bound} {expected} item{'' if expected == 1 else 's'}"
    if keyword == "minProperties":
        return f"{name} must set at least one field"
    if keyword == "format":
        return f"{name} must be {FORMAT_WORDS.get(expected, expected)}"
    if keyword in ("anyOf", "oneOf") and all("format" in option for option in expected):
        return f"{name} must be {DATE_OR_DATE_TIME}"
    if keyword == "pattern":
        return pattern_detail(name, error.instance, schema)
    if keyword == "not" and isinstance(expected, dict) and expected.get("required"):
        return f"{' and '.join(expected['required'])} cannot both be given"
    return f"{name} is not valid"


def pattern_detail(name: str, value: Any, schema: dict[str, Any]) -> str:
    # The spec's patterns say "not blank, no NUL" (Title, Category, TagName...) and, for the rest, what
    # the schema's `x-pattern-message` spells out (the regex itself means nothing to a form's user).
    if isinstance(value, str) and not value.strip(WHITE_SPACE):
        return f"{name} must not be blank"
    if isinstance(value, str) and "\x00" in value:
        return f"{name} must not contain the NUL character (U+0000)"
    return f"{name} {schema.get('x-pattern-message', 'is not in the expected format')}"


def field_name(path: Iterable[Any]) -> str:
    """`title`, `tags[2]`, `The body` for the body itself (always the start of a sentence)."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "The body"


def pointer(path: Iterable[Any]) -> str:
    """RFC 6901 JSON Pointer as a URI fragment (RFC 9457's example uses `#/age`)."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def body_violations(errors: Iterable[ValidationError]) -> list[Violation]:
    """Every error of the body, one violation per field (the first error found for it)."""
    found: dict[str, Violation] = {}
    for error in errors:
        path = list(error.absolute_path)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, dict):
            for missing in (field for field in cast(list[str], error.validator_value) if field not in instance):
                found.setdefault(pointer([*path, missing]), {"detail": f"{field_name([*path, missing])} is required"})
        elif error.validator == "additionalProperties" and isinstance(instance, dict):
            known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            for extra in (field for field in instance if field not in known):
                detail = f"{field_name([*path, extra])} is not a field this operation accepts"
                found.setdefault(pointer([*path, extra]), {"detail": detail})
        elif error.validator == "not" and not isinstance(instance, dict):
            continue  # `not: {required: [...]}` holds for any non-object; its type error says it all
        elif error.validator == "not" and isinstance(error.validator_value, dict):
            fields = error.validator_value.get("required") or [""]
            found.setdefault(pointer([*path, fields[-1]]), {"detail": describe(error, field_name(path))})
        else:
            found.setdefault(pointer(path), {"detail": describe(error, field_name(path))})
    return [{"detail": v["detail"], "pointer": where} for where, v in found.items()]
