"""Lineage and audit fields as a model package's CustomerMetadataProperties, and back (control plane).

The Model Registry accepts at most 50 entries; keys of 1–128 and values of 1–256 characters,
both matching `[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*` (letters, separators, digits and `_.:/=+-@`: no
braces, quotes, commas or `#`). A string that fits is stored as it is, so commits, URIs and ARNs
stay readable in the console. Anything else (dicts, numbers, a path with other characters, a
longer text) is stored as base64 of its compact JSON, whose alphabet the pattern allows, under
`<name>.b64`, continued in `<name>.b64.2`, `<name>.b64.3`… when it needs more than 256 characters.
Audit fields get the `audit.` prefix. `decode` reverses all of it.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from typing import Any

from deploy.errors import RegistryError

MAX_ENTRIES = 50
MAX_KEY = 128
MAX_VALUE = 256
MAX_CHUNKS = 8  # 2 KiB of encoded text per field; longer values are cut (strings) or refused
AUDIT = "audit."
ENCODED = ".b64"
_CHUNK = re.compile(r"^(?P<name>.+)\.b64(?:\.(?P<part>[2-9]\d*|1\d+))?$")
_PUNCTUATION = set("_.:/=+-@")


def allowed(text: str, limit: int = MAX_VALUE) -> bool:
    """True when the registry stores `text` as it is (length and character classes)."""
    return 1 <= len(text) <= limit and all(ch in _PUNCTUATION or unicodedata.category(ch)[0] in "LZN" for ch in text)


def encode(lineage: dict[str, Any], audit: dict[str, str] | None = None) -> dict[str, str]:
    """The CustomerMetadataProperties map for `lineage` and `audit` (None values are left out)."""
    props: dict[str, str] = {}
    fields = {**lineage, **{AUDIT + k: v for k, v in (audit or {}).items()}}
    for name, value in sorted(fields.items()):
        if value is None:
            continue
        if not allowed(name, MAX_KEY - len(ENCODED) - 3):
            raise RegistryError(f"metadata key {name!r}: use letters, digits and _.:/=+-@ (at most 120 characters)")
        if isinstance(value, str) and allowed(value):
            props[name] = value
        else:
            props.update(_chunks(name, value))
    if len(props) > MAX_ENTRIES:
        raise RegistryError(
            f"model package metadata: {len(props)} entries, the Model Registry allows {MAX_ENTRIES}: "
            f"{', '.join(sorted(props))}"
        )
    return props


def decode(props: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(lineage, audit) read back from CustomerMetadataProperties written by `encode`."""
    plain: dict[str, Any] = {}
    parts: dict[str, dict[int, str]] = {}
    for key, value in props.items():
        match = _CHUNK.match(key)
        if match:
            parts.setdefault(match["name"], {})[int(match["part"] or 1)] = value
        else:
            plain[key] = value
    for name, chunks in parts.items():
        text = "".join(chunks[i] for i in sorted(chunks))
        try:
            plain[name] = json.loads(base64.b64decode(text, validate=True))
        except ValueError:  # not ours: keep what is there
            plain[name] = text
    lineage = {k: v for k, v in plain.items() if not k.startswith(AUDIT)}
    audit = {k.removeprefix(AUDIT): str(v) for k, v in plain.items() if k.startswith(AUDIT)}
    return lineage, audit


def _chunks(name: str, value: Any) -> dict[str, str]:
    text, limit = _b64(value), MAX_VALUE * MAX_CHUNKS
    if len(text) > limit and not isinstance(value, str):
        raise RegistryError(f"metadata {name!r}: {len(text)} characters encoded, more than {limit}")
    keep = len(value) if isinstance(value, str) else 0
    while len(text) > limit:  # a long text is cut, with an ellipsis saying so
        keep -= max(1, (len(text) - limit) // 4)
        text = _b64(value[:keep] + "…")
    pieces = [text[i : i + MAX_VALUE] for i in range(0, len(text), MAX_VALUE)]
    return {name + ENCODED + (f".{i}" if i > 1 else ""): piece for i, piece in enumerate(pieces, start=1)}


def _b64(value: Any) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":"), sort_keys=True).encode()).decode()
