"""A request's Content-Type read as RFC 9110 §8.3.1 defines it: type, subtype and parameter names are
case-insensitive. Connexion looks its body validator up by the exact spelling, so `Application/Json`
found none, skipped validation and handed the handler raw bytes (a 500): the value is normalised first."""

from __future__ import annotations

import re

# media-type = type "/" subtype *( OWS ";" OWS parameter ), parameter = token "=" ( token / quoted-string )
TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
MEDIA_TYPE = re.compile(rf"({TCHARS})/({TCHARS})((?:[ \t]*;[ \t]*{TCHARS}=(?:{TCHARS}|{QUOTED}))*)[ \t]*")
PARAMETER = re.compile(rf"[ \t]*;[ \t]*({TCHARS})=({TCHARS}|{QUOTED})")
UTF8 = ("utf-8", '"utf-8"')  # JSON is UTF-8 (RFC 8259 §8.1); any other charset would be read wrongly


class NotAMediaType(ValueError):
    """The value is not a media type, or names a charset the body cannot be read in."""


def normalise(value: str) -> str:
    """`value` with its type, subtype and parameter names in lower case (and a UTF-8 charset spelt
    `utf-8`); NotAMediaType if it is malformed or names a charset other than UTF-8."""
    match = MEDIA_TYPE.fullmatch(value)
    if match is None:
        raise NotAMediaType(f"{value[:100]!r} is not a media type")
    kind, subtype, rest = match.groups()
    parameters = []
    for name, raw in PARAMETER.findall(rest):
        name = name.lower()
        if name == "charset":
            if raw.lower() not in UTF8:
                raise NotAMediaType(f"the body must be UTF-8, not {raw[:40]}")
            raw = "utf-8"
        parameters.append(f"; {name}={raw}")
    return f"{kind.lower()}/{subtype.lower()}" + "".join(parameters)
