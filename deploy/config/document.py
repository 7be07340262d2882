"""Reading one `config/*.yaml` file into data the schema can judge (control plane).

YAML is read with ruamel.yaml's round-trip loader (the parser the promotion uses to rewrite
pins), so every problem can name its line. Before the schema sees the document it is copied
into plain Python values: ruamel's scalar subclasses become `bool`, `int`, `float` and `str`
(an anchored `true` is an int subclass that a strict schema would otherwise misjudge), and
aliases are expanded under a budget, so an alias bomb (a few lines that expand to billions
of values) is one clear line instead of a hang. ruamel reads an alias inside its own anchor
as null; the depth bound would stop a cycle all the same. Every way a file can fail to be
read (missing, unreadable, not UTF-8, not YAML, nested too deeply) is a `ConfigError`
naming the file.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from deploy.errors import ConfigError

# The template's files hold a few hundred values; these bounds leave room for large smoke
# payloads while stopping an alias bomb long before it costs memory or time.
MAX_VALUES = 100_000
MAX_DEPTH = 64


def shown(path: Path | str) -> Path:
    """A path as messages show it: relative to the current folder when it lies below it.

    Commands run from the repository root, so a problem reads `config/prod.yaml:…`, the way
    the user would type the file's name, and a path stays valid for opening from there.
    """
    path = Path(path)
    try:
        return path.relative_to(Path.cwd()) if path.is_absolute() else path
    except ValueError:
        return path


def read_text(path: Path) -> str:
    """The file's text; ConfigError if it is missing, unreadable or not UTF-8."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file as UTF-8"
        ) from None


@functools.lru_cache(maxsize=32)
def round_trip(text: str) -> Any:
    """ruamel's round-trip document of `text`, parsed once per distinct text; read it, never change it.

    A command reads the same few files several times (plan, deploy and smoke each load the
    environment, a promotion reads and re-reads each file it rewrites), and round-trip parsing
    is most of what reading a file costs. Errors are raised afresh each time, never cached.
    """
    return YAML(typ="rt").load(text)


@functools.lru_cache(maxsize=64)
def safe_data(text: str) -> Any:
    """The plain data of `text` (ruamel's safe loader), parsed once per distinct text; read it, never change it.

    For the YAML files commands read but never rewrite: the workflow files and the price table.
    """
    return YAML(typ="safe").load(text)


def parse_yaml(path: Path, text: str) -> Any:
    """The round-trip document of `text`, read from `path` (keeps line numbers); ConfigError naming the file.

    The document is shared by every caller that parses the same text: read it, never change it.
    """
    try:
        return round_trip(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None


class _Copier:
    """Copies a round-trip document into plain values, counting every value an alias expands to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.left = MAX_VALUES

    def copy(self, node: Any, depth: int = 0) -> Any:
        self.left -= 1
        if self.left < 0:
            raise ConfigError(
                f"{self.path}: the document expands to more than {MAX_VALUES} values "
                "(YAML aliases repeating aliases); write the values out instead"
            )
        if depth > MAX_DEPTH:
            raise ConfigError(f"{self.path}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            return {self.copy(k, depth + 1): self.copy(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.copy(item, depth + 1) for item in node]
        if isinstance(node, ScalarBoolean | bool):
            return bool(node)
        for kind in (int, float, str):
            if isinstance(node, kind):
                return kind(node)
        return node  # None, dates, bytes, tagged scalars: the schema names what it expected instead


def plain(path: Path, document: Any) -> Any:
    """Plain Python values of a round-trip document; ConfigError for alias bombs and deep nesting."""
    return _Copier(Path(path)).copy(document)


def line_of(document: Any, loc: tuple) -> int | None:
    """Line (1-based) of the deepest key of `loc` that exists in the round-trip document."""
    node, line = document, None
    for part in loc:
        try:
            if hasattr(node, "lc") and isinstance(part, str) and part in node:
                line = node.lc.key(part)[0] + 1
            elif hasattr(node, "lc") and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
            node = node[part]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line
