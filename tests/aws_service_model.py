"""AWS requests checked against the full botocore service model, as the service checks them (test side).

botocore's client-side validator checks types, required members and `min` only; moto and
Stubber check less. The service also enforces `max` lengths and counts, numeric ranges, enums
and `pattern`s. `violations(operation_model, params)` applies all of them to one request's
parameters and returns one line per violation, naming the member path.

Patterns are Java regular expressions matched against the whole value (`String.matches`).
They are compiled with the `regex` module, which knows `\\p{L}`-style Unicode properties, after
translating what Java spells differently: POSIX classes such as `\\p{Alnum}` and the shorthand
`\\w`, `\\d`, `\\s` are ASCII-only in Java; a UTF-16 surrogate-pair range stands for the
supplementary planes; `\\z` is Python's `\\Z`. Nested classes (`[a-z[0-9]]`) are unions in both
Java and the `regex` module's version 1 syntax.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import regex
from botocore.model import OperationModel, Shape

_SPACE = r"[ \t\n\x0B\f\r]"
_JAVA = {
    r"\p{Alnum}": "[a-zA-Z0-9]",
    r"\p{Alpha}": "[a-zA-Z]",
    r"\p{Digit}": "[0-9]",
    r"\p{Lower}": "[a-z]",
    r"\p{Upper}": "[A-Z]",
    r"\p{XDigit}": "[0-9a-fA-F]",
    r"\p{Punct}": r"[!-/:-@\[-`{-~]",
    r"\p{Graph}": r"[!-~]",
    r"\p{Print}": r"[ -~]",
    r"\p{Blank}": r"[ \t]",
    r"\p{Space}": _SPACE,
    r"\p{Cntrl}": r"[\x00-\x1F\x7F]",
    r"\p{ASCII}": r"[\x00-\x7F]",
    r"\uD800\uDC00-\uDBFF\uDFFF": r"\U00010000-\U0010FFFF",
    r"\w": "[a-zA-Z0-9_]",
    r"\W": "[^a-zA-Z0-9_]",
    r"\d": "[0-9]",
    r"\D": "[^0-9]",
    r"\s": _SPACE,
    r"\S": r"[^ \t\n\x0B\f\r]",
    r"\z": r"\Z",
}
_TOKENS = regex.compile("|".join(regex.escape(k) for k in sorted(_JAVA, key=len, reverse=True)) + r"|\\.")


def translate(java: str) -> str:
    """The `regex` (V1) spelling of a Java pattern; escapes other than the table's stay as they are."""
    return _TOKENS.sub(lambda m: _JAVA.get(m.group(0), m.group(0)), java)


@functools.cache
def compiled(java: str) -> regex.Pattern[str]:
    return regex.compile(translate(java), regex.V1)


def violations(operation: OperationModel, params: dict[str, Any]) -> list[str]:
    """Every way `params` breaks the operation's input shape (empty when the service would accept it)."""
    if operation.input_shape is None:
        return []
    return list(_check(operation.input_shape, params, ""))


def _check(shape: Shape, value: Any, path: str) -> Iterator[str]:
    checker = _CHECKERS.get(shape.type_name)
    if checker is not None:
        yield from checker(shape, value, path)


def _structure(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        return  # botocore's own validator reports the type
    for name in shape.required_members:
        if name not in value:
            yield f"{path}{name}: required"
    members = shape.members
    for name, item in value.items():
        if name in members and item is not None:
            yield from _check(members[name], item, f"{path}{name}.")


def _list(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, list | tuple):
        return
    yield from _length(shape, len(value), path, "items")
    for index, item in enumerate(value):
        yield from _check(shape.member, item, f"{path.rstrip('.')}[{index}].")


def _map(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        return
    yield from _length(shape, len(value), path, "entries")
    for key, item in value.items():
        yield from _check(shape.key, key, f"{path}(key {key!r}).")
        yield from _check(shape.value, item, f"{path.rstrip('.')}[{key!r}].")


def _string(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        return
    yield from _length(shape, len(value), path, "characters")
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        yield f"{path.rstrip('.')}: {value!r} is not one of {', '.join(enum)}"
    pattern = shape.metadata.get("pattern")
    if pattern and compiled(pattern).fullmatch(value) is None:
        yield f"{path.rstrip('.')}: {_shorten(value)} does not match the pattern {pattern}"


def _blob(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if isinstance(value, bytes | bytearray | str):
        yield from _length(shape, len(value), path, "bytes")


def _number(shape: Shape, value: Any, path: str) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        yield f"{path.rstrip('.')}: {value} is below the minimum {low}"
    if high is not None and value > high:
        yield f"{path.rstrip('.')}: {value} is above the maximum {high}"


def _length(shape: Shape, size: int, path: str, unit: str) -> Iterator[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        yield f"{path.rstrip('.')}: {size} {unit}, fewer than the minimum {low}"
    if high is not None and size > high:
        yield f"{path.rstrip('.')}: {size} {unit}, more than the maximum {high}"


def _shorten(value: str) -> str:
    return repr(value) if len(value) <= 80 else repr(value[:77] + "...")


_CHECKERS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "blob": _blob,
    "integer": _number,
    "long": _number,
    "float": _number,
    "double": _number,
}
