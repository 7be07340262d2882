"""The workflow jobs that assume an AWS role: which role, and which `mlops` commands they run (test side).

The role is found the way GitHub and AWS find it: the job's `role-to-assume` names a
variable (`vars.X`), `scripts/bootstrap.sh --dry-run` says which stack output it sets that
variable to (per environment for environment variables), and the output is a role of the
template. The commands are the job's `run:` steps that call `mlops`, with the values a
push to main gives them: matrix values, step `env:`, optional expansions that are empty
when no dispatch input is given, and earlier steps' outputs filled in when run. A manual
run (`dispatched`) expands them again with its `workflow_dispatch` inputs, defaults for
those not given.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
WORKFLOWS = REPO / ".github" / "workflows"
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@"
# Variables the runner sets, left as markers that `World` fills in when it runs the command.
RUNNER_VARIABLES = {"RUNNER_TEMP": "@RUNNER_TEMP@", "GITHUB_WORKSPACE": "@GITHUB_WORKSPACE@"}
STEP_OUTPUT = re.compile(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}")
INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


@dataclass(frozen=True)
class Command:
    step_id: str  # the step's id (or its position) so later steps can read its outputs
    argv: tuple[str, ...]  # after `mlops`; may hold `@steps.<id>.outputs.<name>@` and `@RUNNER_TEMP@`
    allowed: tuple[int, ...] = (0,)  # exit codes the step accepts (`|| test $? -eq N`)
    condition: str = ""  # the step's `if:`, evaluated by `World` as the runner would


@dataclass
class Job:
    workflow: str
    job_id: str
    environment: str | None
    role_variable: str
    matrix: dict[str, Any]
    commands: list[Command] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list, repr=False)  # after the credentials step
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # the workflow's `workflow_dispatch` inputs

    def dispatched(self, given: dict[str, str]) -> list[Command]:
        """The commands of a manual run: each input as given, else its default; a required one must be given."""
        unknown = set(given) - set(self.inputs)
        if unknown:
            raise AssertionError(f"{self.label}: no dispatch input {sorted(unknown)}")
        values = {}
        for name, spec in self.inputs.items():
            if name not in given and spec.get("required") and "default" not in spec:
                raise AssertionError(f"{self.label}: a manual run needs the required input {name!r}")
            values[name] = given.get(name, str(spec.get("default", "")))
        return _commands(self.steps, self.matrix, values)

    @property
    def label(self) -> str:
        suffix = f" ({', '.join(f'{k}={v}' for k, v in self.matrix.items())})" if self.matrix else ""
        return f"{self.workflow}/{self.job_id}{suffix}"


def _matrices(job: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = job.get("strategy", {}).get("matrix", {})
    combos: list[dict[str, Any]] = [{}]
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            # Not expanded here: fail loudly rather than check fewer job variants than the workflow runs.
            raise AssertionError(f"matrix {key}: the IAM check expands plain matrices only; extend _matrices")
        combos = [{**c, key: v} for c in combos for v in values]
    return combos


def _expand(text: str, matrix: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(matrix[m.group(1)]), text)


def _words(script: str, env: dict[str, str]) -> list[list[str]]:
    """The argv of each `mlops` call in a step script, expanded by bash itself with a stand-in `mlops`."""
    stand_in = "mlops() { printf '%s\\0' \"$@\"; printf '\\n'; }\n"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", stand_in + script],
        env={"PATH": "/usr/bin:/bin", **RUNNER_VARIABLES, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line.split("\0")[:-1] for line in result.stdout.splitlines()]


def _placeholders(value: str, matrix: dict[str, Any], inputs: dict[str, str] | None = None) -> str:
    """A step `env:` value: matrix values in, step outputs marked, dispatch inputs as given (empty on push)."""
    value = _expand(value, matrix)
    value = INPUT.sub(lambda m: (inputs or {}).get(m.group(1), ""), value)
    value = STEP_OUTPUT.sub(lambda m: f"@steps.{m.group(1)}.outputs.{m.group(2)}@", value)
    return re.sub(r"\$\{\{.*?\}\}", "", value)  # dispatch inputs and event expressions: empty on push


def jobs_with_roles(workflows: Path = WORKFLOWS) -> list[Job]:
    """Every (job, matrix combination) that assumes a role, in workflow file order."""
    found = []
    for path in sorted(workflows.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job_id, job in doc.get("jobs", {}).items():
            steps = job.get("steps", [])
            creds = [s for s in steps if str(s.get("uses", "")).startswith(CREDENTIALS_ACTION)]
            if not creds:
                continue
            variable = re.fullmatch(r"\$\{\{\s*vars\.(\w+)\s*\}\}", creds[0]["with"]["role-to-assume"].strip())
            if variable is None:
                raise ValueError(f"{path.name}/{job_id}: role-to-assume is not a repository variable")
            environment = job.get("environment")
            environment = environment.get("name") if isinstance(environment, dict) else environment
            triggers = doc.get("on", doc.get(True)) or {}  # YAML 1.1 reads the key `on` as true
            dispatch = (triggers.get("workflow_dispatch") or {}) if isinstance(triggers, dict) else {}
            after = steps[steps.index(creds[0]) + 1 :]
            for matrix in _matrices(job):
                entry = Job(path.name, job_id, environment, variable.group(1), matrix)
                entry.commands = _commands(after, matrix)
                entry.steps, entry.inputs = after, dispatch.get("inputs") or {}
                found.append(entry)
    return found


def _commands(
    steps: list[dict[str, Any]], matrix: dict[str, Any], inputs: dict[str, str] | None = None
) -> list[Command]:
    commands = []
    for position, step in enumerate(steps):
        script = step.get("run")
        if not script or "mlops" not in script:
            continue
        env = {k: _placeholders(str(v), matrix, inputs) for k, v in (step.get("env") or {}).items()}
        step_id = step.get("id", f"step{position}")
        allowed = (0, *(int(n) for n in re.findall(r"\|\|\s*test \$\? -eq (\d+)", script)))
        condition = str(step.get("if", ""))
        for argv in _words(_expand(script, matrix), env):
            commands.append(Command(step_id, tuple(argv), allowed, condition))
    return commands


def role_outputs(repo: Path = REPO) -> dict[tuple[str, str | None], str]:
    """(variable, environment or None) → the template output bootstrap.sh sets it to."""
    result = subprocess.run(
        ["bash", "scripts/bootstrap.sh", "--dry-run", "--github-owner", "o", "--github-repo", "r", "--region", "r-1"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    mapping = {}
    for line in result.stdout.splitlines():
        if not line.startswith("gh variable set "):
            continue
        words = shlex.split(line)
        env = words[words.index("--env") + 1] if "--env" in words else None
        mapping[(words[3], env)] = words[words.index("--body") + 1]
    return mapping
