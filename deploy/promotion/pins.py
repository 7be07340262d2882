"""Rewrite the model pin of every `config/<env>.yaml`, changing nothing else (control plane).

A promotion must be a diff of pin lines only, so reviewers see exactly what ships. Dumping a
ruamel.yaml round-trip document is not enough for that: it re-indents block sequences and
re-flows long flow mappings. So the file is parsed with ruamel.yaml's round-trip loader only to
find where `model.version`, `model.package_arn` and `model.sha256` sit (line and column), those
lines are edited as text (keeping indentation, trailing comments and line endings), and the
result is parsed again and checked: the pin holds the new values, every other key is equal to
before, and the file still passes the schema. Missing pin keys (or a bare `model:`) get lines
inserted under `model:`; a flow-style `model: {...}` is refused with a clear message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from deploy.config.document import parse_yaml
from deploy.config.loader import environment_names, problems
from deploy.config.schema import EnvironmentConfig, ModelPin
from deploy.errors import ConfigError

PIN_KEYS = ("version", "package_arn", "sha256")
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]*")
_COMMENT = re.compile(r"(\s+#.*)$")


@dataclass(frozen=True)
class PinChange:
    """One environment file before and after the rewrite (both as text)."""

    env: str
    path: Path
    before: str
    after: str
    old: dict[str, Any]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def plan_pins(config_dir: Path, pin: ModelPin) -> list[PinChange]:
    """The rewrite of every environment file, computed in memory and verified; nothing written."""
    changes = []
    for env in environment_names(config_dir):
        path = Path(config_dir) / f"{env}.yaml"
        before = path.read_text(encoding="utf-8")
        after = rewrite_pin(before, pin, path)
        old = _parse(before, path).get("model") or {}
        changes.append(PinChange(env, path, before, after, {k: old.get(k) for k in PIN_KEYS}))
    return changes


def write_pins(changes: list[PinChange]) -> list[Path]:
    """Write the files that changed; returns their paths."""
    written = []
    for change in changes:
        if change.changed:
            with change.path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(change.after)
            written.append(change.path)
    return written


def rewrite_pin(text: str, pin: ModelPin, path: Path) -> str:
    """`text` with its model pin set to `pin`; every other byte stays as it was."""
    doc = _parse(text, path)
    lines = text.splitlines(keepends=True)
    values = {k: _render(getattr(pin, k)) for k in PIN_KEYS}
    if "model" not in doc:
        at = doc.lc.key(next(iter(doc)))[0] if doc else len(lines)
        block = ["model:", *(_pin_line("  ", k, values[k]) for k in PIN_KEYS), ""]
        _insert(lines, at, block, _newline(lines))
    else:
        _rewrite_model(doc, lines, values, path)
    result = "".join(lines)
    _verify(doc, result, pin, path)
    return result


def _rewrite_model(doc: CommentedMap, lines: list[str], values: dict[str, str], path: Path) -> None:
    model = doc["model"]
    model_line, model_col = doc.lc.key("model")
    if model is None:
        lines[model_line] = _set_value(lines[model_line], "model", "", path)
        indent = " " * (model_col + 2)
        _insert(lines, model_line + 1, [_pin_line(indent, k, values[k]) for k in PIN_KEYS], _newline(lines))
        return
    if not isinstance(model, CommentedMap) or model.fa.flow_style() or not model:
        raise ConfigError(
            f"{path}:model: write the pin as a block mapping (model:, then version:, "
            "package_arn:, sha256: on their own lines) so a promotion can rewrite it"
        )
    present = [k for k in PIN_KEYS if k in model]
    for key in present:
        line = model.lc.key(key)[0]
        lines[line] = _set_value(lines[line], key, values[key], path)
    missing = [k for k in PIN_KEYS if k not in model]
    if missing:
        last = max(model.lc.key(k)[0] for k in model)
        indent = " " * model.lc.key(next(iter(model)))[1]
        _insert(lines, last + 1, [_pin_line(indent, k, values[k]) for k in missing], _newline(lines))


def _parse(text: str, path: Path) -> CommentedMap:
    """The round-trip document of an environment file (shared per text: read it, never change it)."""
    doc = parse_yaml(path, text)  # invalid or too deeply nested YAML: a ConfigError naming the file
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return doc


def _render(value: object) -> str:
    """A YAML scalar for a pin value: plain when it reads back as the same string, else quoted."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and YAML(typ="safe").load(text) == text:
        return text
    return json.dumps(text)


def _pin_line(indent: str, key: str, value: str) -> str:
    return f"{indent}{key}:{' ' + value if value else ''}"


def _set_value(line: str, key: str, value: str, path: Path) -> str:
    body = line.rstrip("\r\n")
    eol = line[len(body) :]
    match = re.match(rf"^(\s*{re.escape(key)}\s*:)(.*)$", body)
    if match is None:
        raise ConfigError(f"{path}:model.{key}: cannot find '{key}:' at the start of its line")
    comment = _COMMENT.search(match.group(2))
    tail = comment.group(1) if comment else ""
    return f"{match.group(1)}{' ' + value if value else ''}{tail}{eol}"


def _newline(lines: list[str]) -> str:
    first = lines[0] if lines else "\n"
    return "\r\n" if first.endswith("\r\n") else "\n"


def _insert(lines: list[str], at: int, new: list[str], newline: str) -> None:
    if at > 0 and at <= len(lines) and not lines[at - 1].endswith("\n"):
        lines[at - 1] += newline
    lines[at:at] = [line + newline for line in new]


def _verify(before: CommentedMap, text: str, pin: ModelPin, path: Path) -> None:
    """The rewrite set exactly the pin, kept every other key, and still passes the schema."""
    after = _parse(text, path)
    model = after.get("model") or {}
    wanted = {k: getattr(pin, k) for k in PIN_KEYS}
    if {k: model.get(k) for k in PIN_KEYS} != wanted:
        raise ConfigError(f"{path}:model: the pin could not be rewritten in place; edit it by hand")
    rest_before = {k: v for k, v in before.items() if k != "model"}
    rest_after = {k: v for k, v in after.items() if k != "model"}
    if rest_before != rest_after:
        raise ConfigError(f"{path}: rewriting the pin would change other keys; edit it by hand")
    found = problems(path, after, EnvironmentConfig)
    if found:
        raise ConfigError(found[0], details=found)
