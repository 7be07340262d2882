"""Read `config/*.yaml` through the schema and turn every problem into `file:key: message`.

Runs on the control plane. YAML is read with ruamel.yaml (the same round-trip parser the
promotion uses to rewrite pins), so each problem can also name its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from deploy.config.schema import EnvironmentConfig, PipelineConfig
from deploy.errors import ConfigError

PIPELINE_FILE = "pipeline.yaml"


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        return YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None


def _line_of(document: Any, loc: tuple) -> int | None:
    """Line (1-based) of the deepest key of `loc` that exists in the document."""
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


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Keys a mapping at `loc` accepts, to say what a typo should have been."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def _message(error: dict, model: type[BaseModel]) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, error["loc"])
        return "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return "required key is missing"
    msg = msg.removeprefix("Value error, ")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        msg += f" (got {error.get('input')!r})"
    return msg


def problems(path: Path, document: Any, model: type[BaseModel]) -> list[str]:
    """Validate a parsed document; one `file:key: message` line per problem, empty if valid."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        return [f"{path}: the top level must be a mapping of keys"]
    try:
        model.model_validate(document)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            # pydantic marks a bad mapping key with a trailing "[key]"; the key itself names it.
            loc = tuple(p for p in error["loc"] if p != "[key]")
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(document, loc)
            suffix = f" (line {line})" if line else ""
            lines.append(f"{path}:{key}: {_message(error, model)}{suffix}")
        return lines
    return []


def _load(path: Path, model: type[BaseModel]) -> Any:
    document = _read_yaml(path)
    found = problems(path, document, model)
    if found:
        raise ConfigError(found[0] + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""), details=found)
    return model.model_validate(document or {})


def load_pipeline(config_dir: Path) -> PipelineConfig:
    return _load(Path(config_dir) / PIPELINE_FILE, PipelineConfig)


def environment_names(config_dir: Path) -> list[str]:
    """Every `config/<env>.yaml` but the pipeline file is an environment."""
    return sorted(p.stem for p in Path(config_dir).glob("*.yaml") if p.name != PIPELINE_FILE)


def load_environment(config_dir: Path, env: str) -> EnvironmentConfig:
    path = Path(config_dir) / f"{env}.yaml"
    if not path.is_file():
        known = ", ".join(environment_names(config_dir)) or "none"
        raise ConfigError(f"{path}: no such environment (known: {known})")
    return _load(path, EnvironmentConfig)


@dataclass
class ConfigSet:
    """The whole desired state, or the list of what is wrong with it."""

    pipeline: PipelineConfig | None = None
    environments: dict[str, EnvironmentConfig] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _cross_checks(config_dir: Path, envs: dict[str, EnvironmentConfig]) -> list[str]:
    found, seen_ports, seen_names = [], {}, {}
    for env, cfg in envs.items():
        path = Path(config_dir) / f"{env}.yaml"
        other = seen_ports.setdefault(cfg.local.port, env)
        if other != env:
            found.append(f"{path}:local.port: port {cfg.local.port} is already used by '{other}'")
        other = seen_names.setdefault(cfg.endpoint.name, env)
        if other != env:
            found.append(f"{path}:endpoint.name: '{cfg.endpoint.name}' is already used by '{other}'")
    return found


def validate_all(config_dir: Path) -> ConfigSet:
    """Validate pipeline.yaml and every environment, collecting every problem instead of stopping."""
    result = ConfigSet()
    config_dir = Path(config_dir)
    targets = [(config_dir / PIPELINE_FILE, PipelineConfig, None)]
    targets += [(config_dir / f"{e}.yaml", EnvironmentConfig, e) for e in environment_names(config_dir)]
    for path, model, env in targets:
        try:
            document = _read_yaml(path)
        except ConfigError as exc:
            result.problems.append(exc.message)
            continue
        found = problems(path, document, model)
        result.problems.extend(found)
        if not found:
            parsed = model.model_validate(document or {})
            if env is None:
                result.pipeline = parsed
            else:
                result.environments[env] = parsed
    result.problems.extend(_cross_checks(config_dir, result.environments))
    return result
