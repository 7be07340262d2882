"""Read `config/*.yaml` through the schema and turn every problem into `file:key: message`.

Runs on the control plane. `deploy/config/document.py` reads the YAML (keeping line numbers,
so each problem can name its line) and copies it into plain values; the schema then judges
them strictly: `true` is not a number, `"5"` is not an integer, `2.0` is not a count.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from deploy.config.base import RuleError
from deploy.config.document import line_of, parse_yaml, plain, read_text, shown
from deploy.config.schema import EnvironmentConfig, PipelineConfig
from deploy.errors import ConfigError

PIPELINE_FILE = "pipeline.yaml"


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
        validate(model, plain(path, document))
    except ConfigError as exc:
        return [exc.message]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            # pydantic marks a bad mapping key with a trailing "[key]"; the key itself names it.
            loc = tuple(p for p in error["loc"] if p != "[key]")
            rule = (error.get("ctx") or {}).get("error")
            if isinstance(rule, RuleError):  # a cross-field rule names the key at fault
                loc += tuple(rule.key.split("."))
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = line_of(document, loc)
            suffix = f" (line {line})" if line else ""
            lines.append(f"{path}:{key}: {_message(error, model)}{suffix}")
        return lines
    return []


def validate(model: type[BaseModel], data: Any) -> Any:
    """The one way desired state is validated: strictly, so YAML's loose types cannot slip through.

    Lax pydantic would read `instance_count: true` as 1 and `wait_seconds: "60"` as 60.
    """
    return model.model_validate(data, strict=True)


# A command reads the same few files several times (plan, deploy and smoke each load the
# environment): each distinct text is validated once per process. The key is the file's text
# (the schema reads nothing else), so an edited file is read again; callers get their own copy.
_VALIDATED: OrderedDict[tuple[type[BaseModel], str], BaseModel] = OrderedDict()
_KEEP = 32


def _load(path: Path, model: type[BaseModel]) -> Any:
    text = read_text(path)
    key = (model, text)
    if key not in _VALIDATED:
        document = parse_yaml(path, text)
        found = problems(path, document, model)
        if found:
            raise ConfigError(found[0] + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""), details=found)
        _VALIDATED[key] = validate(model, plain(path, document or {}))
        while len(_VALIDATED) > _KEEP:
            _VALIDATED.popitem(last=False)
    return _VALIDATED[key].model_copy(deep=True)


def load_pipeline(config_dir: Path) -> PipelineConfig:
    return _load(shown(config_dir) / PIPELINE_FILE, PipelineConfig)


def environment_names(config_dir: Path) -> list[str]:
    """Every `config/<env>.yaml` but the pipeline file is an environment."""
    return sorted(p.stem for p in Path(config_dir).glob("*.yaml") if p.name != PIPELINE_FILE)


def load_environment(config_dir: Path, env: str) -> EnvironmentConfig:
    path = shown(config_dir) / f"{env}.yaml"
    # Only the names `environment_names` lists: not `pipeline`, not a path such as `../x`.
    if env not in environment_names(config_dir):
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
    """Values each environment needs for itself; a clash names both files, since either may be the edit."""
    found, seen_ports, seen_names = [], {}, {}
    for env, cfg in envs.items():
        path = Path(config_dir) / f"{env}.yaml"
        other = seen_ports.setdefault(cfg.local.port, env)
        if other != env:
            found.append(
                f"{path}:local.port: port {cfg.local.port} is also local.port in {Path(config_dir) / other}.yaml "
                f"(environment '{other}'); each environment needs its own port"
            )
        other = seen_names.setdefault(cfg.endpoint.name, env)
        if other != env:
            found.append(
                f"{path}:endpoint.name: '{cfg.endpoint.name}' is also endpoint.name in "
                f"{Path(config_dir) / other}.yaml (environment '{other}'); each environment needs its own endpoint"
            )
    return found


def _smoke_checks(config_dir: Path, pipeline: PipelineConfig | None, envs: dict[str, EnvironmentConfig]) -> list[str]:
    """Smoke payloads parsed as the endpoint will parse them, with the features of pipeline.yaml.

    A payload that no model trained from this config can answer would otherwise fail only
    after a deploy, as a failed smoke test.
    """
    if pipeline is None:
        return []
    import json

    from ml.payload import CSV, Features, PayloadError, parse_csv, parse_json  # the endpoint's own parser

    features = Features(
        tuple(f.name for f in pipeline.features.numeric), tuple(f.name for f in pipeline.features.categorical)
    )
    found = []
    for env, cfg in envs.items():
        for i, payload in enumerate(cfg.smoke.payloads):
            text = payload.body if isinstance(payload.body, str) else json.dumps(payload.body)
            where = f"{Path(config_dir) / env}.yaml:smoke.payloads.{i}.body"
            try:
                batch = (parse_csv if payload.content_type == CSV else parse_json)(text, features)
            except PayloadError as exc:
                found.append(f"{where}: {exc.reason} (features of {Path(config_dir) / PIPELINE_FILE})")
                continue
            if len(batch) != payload.expect_rows:
                found.append(f"{where}: {len(batch)} rows, but expect_rows is {payload.expect_rows}")
    return found


def _alarm_feature_checks(
    config_dir: Path, pipeline: PipelineConfig | None, envs: dict[str, EnvironmentConfig]
) -> list[str]:
    """A monitoring alarm on a feature the model does not have would never see a datapoint."""
    if pipeline is None:
        return []
    features = [f.name for f in pipeline.features.numeric] + [f.name for f in pipeline.features.categorical]
    return [
        f"{Path(config_dir) / env}.yaml:monitoring.alarms.{i}.feature: '{alarm.feature}' is not a feature of "
        f"{Path(config_dir) / PIPELINE_FILE} (allowed: {', '.join(features)})"
        for env, cfg in envs.items()
        for i, alarm in enumerate(cfg.monitoring.alarms)
        if alarm.feature is not None and alarm.feature not in features
    ]


def validate_all(config_dir: Path) -> ConfigSet:
    """Validate pipeline.yaml and every environment, collecting every problem instead of stopping."""
    result = ConfigSet()
    config_dir = shown(config_dir)
    targets = [(config_dir / PIPELINE_FILE, PipelineConfig, None)]
    targets += [(config_dir / f"{e}.yaml", EnvironmentConfig, e) for e in environment_names(config_dir)]
    for path, model, env in targets:
        try:
            document = parse_yaml(path, read_text(path))
        except ConfigError as exc:
            result.problems.append(exc.message)
            continue
        found = problems(path, document, model)
        result.problems.extend(found)
        if not found:
            parsed = validate(model, plain(path, document or {}))
            if env is None:
                result.pipeline = parsed
            else:
                result.environments[env] = parsed
    result.problems.extend(_cross_checks(config_dir, result.environments))
    result.problems.extend(_smoke_checks(config_dir, result.pipeline, result.environments))
    result.problems.extend(_alarm_feature_checks(config_dir, result.pipeline, result.environments))
    return result
