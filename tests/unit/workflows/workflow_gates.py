"""Supply-chain and safety gates for the GitHub Actions files under `.github/`.

Test-side only. Each gate takes parsed YAML (plus the raw text where comments
matter) and returns a list of problems, one line each; an empty list means the
gate holds. The same functions run on the real files and on mutated copies, so
the mutation tests prove that each gate can fail.
"""

from __future__ import annotations

import copy
import functools
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SHA_PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
PIN_LINE = re.compile(r"uses:\s*(?P<ref>[^\s#]+)(?P<comment>\s+#.*)?$")
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+\.\d+\.\d+\s*$")
EXPRESSION = re.compile(r"\$\{\{")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")
AWS_STATIC_KEYS = re.compile(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY", re.I)
FORBIDDEN_TRIGGERS = ("pull_request_target", "workflow_run")
AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"

# What a `run:` line may start with: the project CLI, the test and lint tools,
# and the few shell built-ins the steps need. Anything else is logic in YAML.
ALLOWED_COMMANDS = frozenset(
    {
        "mlops",
        "python",
        "bash",
        "ruff",
        "zizmor",
        "check-jsonschema",
        "cfn-lint",
        "actionlint",
        "curl",
        "echo",
        "tar",
        "read",
        "exit",
    }
)


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a workflow or action file (the caller's own copy); YAML 1.1 reads the `on:` key as True."""
    doc = copy.deepcopy(_parsed(path.read_text(encoding="utf-8")))
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> Any:
    """The tests read the same few workflow files hundreds of times: each text is parsed once, by libyaml."""
    if yaml.__with_libyaml__:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)


def workflow_files(github_dir: Path) -> list[Path]:
    return sorted((github_dir / "workflows").glob("*.y*ml"))


def action_files(github_dir: Path) -> list[Path]:
    return sorted((github_dir / "actions").glob("*/action.y*ml"))


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    on = doc.get("on") or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (owner, step) for every step of every job, or of a composite action."""
    if "runs" in doc:
        for step in doc["runs"].get("steps", []):
            yield "action", step
    for job_id, job in (doc.get("jobs") or {}).items():
        for step in job.get("steps", []):
            yield job_id, step


def all_uses(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for owner, step in steps(doc):
        if "uses" in step:
            yield owner, step["uses"]
    for job_id, job in (doc.get("jobs") or {}).items():
        if "uses" in job:  # a reusable workflow call
            yield job_id, job["uses"]


def unpinned_uses(doc: dict[str, Any]) -> list[str]:
    return [
        f"{owner}: `{ref}` is not pinned to a 40-hex commit SHA"
        for owner, ref in all_uses(doc)
        if not ref.startswith(("./", "docker://")) and not SHA_PINNED.match(ref)
    ]


def missing_version_comments(text: str) -> list[str]:
    """A SHA says nothing to a reviewer: each pin carries its `# vX.Y.Z`."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = PIN_LINE.search(line.strip().removeprefix("- "))
        if not match or match["ref"].startswith(("./", "docker://")):
            continue
        if not VERSION_COMMENT.match(match["comment"] or ""):
            problems.append(f"line {number}: `{match['ref']}` has no `# vX.Y.Z` comment")
    return problems


def top_level_permissions(doc: dict[str, Any]) -> list[str]:
    if doc.get("permissions") != {}:
        return [f"top-level permissions are {doc.get('permissions')!r}, not {{}}"]
    return []


def job_permissions(doc: dict[str, Any]) -> list[str]:
    """Every job states its grants; only jobs that assume an AWS role get OIDC."""
    problems = []
    for job_id, job in (doc.get("jobs") or {}).items():
        grants = job.get("permissions")
        if not isinstance(grants, dict):
            problems.append(f"{job_id}: no per-job permissions mapping")
            continue
        assumes_role = any(step.get("uses", "").startswith(AWS_CREDENTIALS_ACTION) for step in job.get("steps", []))
        if grants.get("id-token") == "write" and not assumes_role:
            problems.append(f"{job_id}: id-token: write without assuming an AWS role")
        if assumes_role and grants.get("id-token") != "write":
            problems.append(f"{job_id}: assumes an AWS role without id-token: write")
    return problems


def missing_timeouts(doc: dict[str, Any]) -> list[str]:
    return [
        f"{job_id}: no timeout-minutes"
        for job_id, job in (doc.get("jobs") or {}).items()
        if "uses" not in job and not isinstance(job.get("timeout-minutes"), int)
    ]


def holds_power(job: dict[str, Any]) -> bool:
    """A job that assumes an AWS role or may write to the repository."""
    grants = job.get("permissions") if isinstance(job.get("permissions"), dict) else {}
    assumes_role = any(step.get("uses", "").startswith(AWS_CREDENTIALS_ACTION) for step in job.get("steps", []))
    return assumes_role or "write" in grants.values()


def missing_concurrency(doc: dict[str, Any]) -> list[str]:
    """Jobs that change something (AWS, the repository) never run twice at once unplanned."""
    if "concurrency" in doc:
        return []
    return [
        f"{job_id}: no concurrency group"
        for job_id, job in doc["jobs"].items()
        if "concurrency" not in job and holds_power(job)
    ]


def bad_queues(doc: dict[str, Any]) -> list[str]:
    """`concurrency.queue` is `single` or `max`, and `max` never with cancel-in-progress: true.

    actionlint does not know the key yet (its config ignores it), so the gate checks it instead.
    """
    found = [("workflow", doc.get("concurrency"))]
    found += [(job_id, job.get("concurrency")) for job_id, job in (doc.get("jobs") or {}).items()]
    problems = []
    for owner, concurrency in found:
        if not isinstance(concurrency, dict) or "queue" not in concurrency:
            continue
        if concurrency["queue"] not in ("single", "max"):
            problems.append(f"{owner}: concurrency queue {concurrency['queue']!r} is not single or max")
        elif concurrency["queue"] == "max" and concurrency.get("cancel-in-progress") is True:
            problems.append(f"{owner}: queue: max cannot be combined with cancel-in-progress: true")
    return problems


def persisted_credentials(doc: dict[str, Any]) -> list[str]:
    return [
        f"{owner}: checkout without persist-credentials: false"
        for owner, step in steps(doc)
        if step.get("uses", "").startswith("actions/checkout@")
        and (step.get("with") or {}).get("persist-credentials") is not False
    ]


def forbidden_triggers(doc: dict[str, Any]) -> list[str]:
    return [
        f"trigger `{name}` runs with secrets on untrusted code" for name in FORBIDDEN_TRIGGERS if name in triggers(doc)
    ]


def expressions_in_run(doc: dict[str, Any]) -> list[str]:
    """`${{ }}` is pasted into the script before bash parses it: pass data via env."""
    return [
        f"{owner}: `${{{{ }}}}` expression inside run: {step['run'].strip().splitlines()[0]!r}"
        for owner, step in steps(doc)
        if "run" in step and EXPRESSION.search(step["run"])
    ]


def command_name(line: str) -> str:
    words = shlex.split(line, comments=True)
    while words and ENV_ASSIGNMENT.match(words[0]):
        words.pop(0)
    return Path(words[0]).name if words else ""


def script_lines(script: str) -> Iterator[str]:
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip() and not line.strip().startswith("#"):
            yield line


def foreign_commands(doc: dict[str, Any]) -> list[str]:
    return [
        f"{owner}: `{command_name(line)}` is not an allowed command: {line.strip()!r}"
        for owner, step in steps(doc)
        if "run" in step
        for line in script_lines(step["run"])
        if command_name(line) not in ALLOWED_COMMANDS
    ]


def static_aws_keys(text: str) -> list[str]:
    return [f"static AWS key reference: {m.group(0)}" for m in AWS_STATIC_KEYS.finditer(text)]


WORKFLOW_GATES = (
    unpinned_uses,
    top_level_permissions,
    job_permissions,
    missing_timeouts,
    missing_concurrency,
    bad_queues,
    persisted_credentials,
    forbidden_triggers,
    expressions_in_run,
    foreign_commands,
)
ACTION_GATES = (unpinned_uses, persisted_credentials, expressions_in_run, foreign_commands)
TEXT_GATES = (missing_version_comments, static_aws_keys)


def check_file(path: Path, gates: tuple) -> list[str]:
    text = path.read_text(encoding="utf-8")
    doc = load_yaml(path)
    problems = [p for gate in gates for p in gate(doc)]
    problems += [p for gate in TEXT_GATES for p in gate(text)]
    return [f"{path.name}: {p}" for p in problems]


def check_github_dir(github_dir: Path) -> list[str]:
    """Every gate on every workflow and composite action under `github_dir`."""
    problems = [p for path in workflow_files(github_dir) for p in check_file(path, WORKFLOW_GATES)]
    problems += [p for path in action_files(github_dir) for p in check_file(path, ACTION_GATES)]
    return problems


def tool(name: str) -> Path | None:
    """A console script installed next to this interpreter (the project venv)."""
    path = Path(sys.executable).parent / name
    return path if path.exists() else (Path(found) if (found := shutil.which(name)) else None)


def run_tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = tool(name)
    if executable is None:
        raise FileNotFoundError(f"{name} is not installed: pip install -e '.[dev]'")
    return subprocess.run([str(executable), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
