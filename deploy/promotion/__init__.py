"""Promotion: gate a registered model against the champion and pin it in git (control plane).

`promote()` is the whole step, written once against the `Backend` interface:

1. the candidate is the newest registered version (or the one asked for); the champion is the
   version pinned in `config/prod.yaml` (none before the first promotion); a candidate that is
   the champion, or whose artifact has the champion's sha256 (an identical retrain), is already
   serving: nothing is gated or written;
2. `gate.evaluate_gate` compares them under the `gate:` rules of `config/pipeline.yaml`;
3. on pass, `pins` rewrites the model pin of every environment file (only those lines), either
   in the working tree or, with `branch=True`, as one commit on `promote/<group>` (one branch
   per group, updated in place), and
   `report` renders the pull request title and body;
4. on fail, nothing in `config/` changes and the candidate is marked `Rejected` in the registry
   with the reasons.

The CLI (`mlops promote`) is a thin wrapper; the local demo calls `promote()` directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from deploy.config import load_environment, validate_all
from deploy.config.loader import environment_names
from deploy.config.schema import ModelPin
from deploy.cost.prices import for_backend
from deploy.errors import ConfigError, GateRejected, RegistryError
from deploy.promotion.cost import CostView, cost_view
from deploy.promotion.gate import GateReport, evaluate_gate
from deploy.promotion.gitops import branch_name, check_ready, commit_on_branch
from deploy.promotion.pins import PinChange, plan_pins, write_pins
from deploy.promotion.profile import ProfileView, profile_view
from deploy.promotion.report import render_promotion, render_rejection
from deploy.registry import ModelVersion, Registry

if TYPE_CHECKING:
    from deploy.backends import Backend
    from deploy.workspace import Workspace

Outcome = Literal["promoted", "rejected", "already_champion", "already_serving"]


@dataclass
class PromotionResult:
    """What a promotion decided and did. With `dry_run`, the decision only: nothing written."""

    outcome: Outcome
    candidate: ModelVersion
    champion: ModelVersion | None
    message: str
    report: GateReport | None = None
    title: str = ""
    body: str = ""
    summary: str = ""
    changes: list[PinChange] = field(default_factory=list)
    body_file: Path | None = None
    branch: str | None = None  # promote/<group> on pass: created when `commit` is set, else the PR's name
    commit: str | None = None
    dry_run: bool = False

    @property
    def promoted(self) -> bool:
        """True when pins were written (to the working tree or to the branch)."""
        return self.outcome == "promoted" and not self.dry_run

    @property
    def changed_files(self) -> list[Path]:
        return [c.path for c in self.changes if c.changed]

    def check(self) -> PromotionResult:
        """Raise `GateRejected` (exit 9) for a rejection, naming every failed rule."""
        if self.outcome == "rejected" and self.report is not None:
            done = "dry run, nothing recorded" if self.dry_run else "config/ unchanged, marked Rejected in the registry"
            message = f"{self.candidate.label} rejected by the quality gate ({done}):"
            raise GateRejected(message, details=[message, *self.report.reasons])
        return self


def promote(
    backend: Backend,
    workspace: Workspace,
    version: int | None = None,
    branch: bool = False,
    *,
    dry_run: bool = False,
    champion_env: str | None = None,
) -> PromotionResult:
    """Gate the candidate against the champion; on pass pin it in every environment file.

    The champion is the pin of `gate.champion_environment` (the model serving real traffic).
    """
    champion_env = champion_env or backend.pipeline.gate.champion_environment
    group = backend.pipeline.registry.model_package_group
    registry = backend.registry()
    candidate = registry.resolve(group, version)
    champion = _champion(registry, workspace, group, champion_env)
    if champion is not None and champion.version == candidate.version:
        message = f"{candidate.label} is already the champion (config/{champion_env}.yaml): nothing to promote"
        return PromotionResult("already_champion", candidate, champion, message, summary=message, dry_run=dry_run)
    if champion is not None and champion.sha256 == candidate.sha256:
        message = (
            f"{candidate.label} has the same artifact as the champion {champion.label} (config/{champion_env}.yaml, "
            f"sha256 {candidate.sha256[:12]}): already serving, nothing to promote"
        )
        return PromotionResult("already_serving", candidate, champion, message, summary=message, dry_run=dry_run)
    report = evaluate_gate(candidate, champion, backend.pipeline.gate)
    if not report.passed:
        return _reject(registry, report, dry_run)
    profile = profile_view(_statistics(registry, candidate), _statistics(registry, champion))
    result = _passed(workspace, report, dry_run, _cost(backend, workspace, candidate), profile)
    if dry_run:
        result.message += " (dry run: nothing written)"
    elif branch:
        _commit(workspace, result)
    else:
        _write(workspace, result.changes)
        result.message += f"; pinned in {', '.join(p.name for p in result.changed_files)}"
    return result


def _cost(backend: Backend, workspace: Workspace, candidate: ModelVersion) -> CostView:
    """The report's cost section: the candidate's training run and every environment's monthly bill."""
    prices = for_backend(backend)
    envs = {env: load_environment(workspace.config_dir, env) for env in environment_names(workspace.config_dir)}
    return cost_view(candidate, prices, backend.pricing_region() or prices.table.region, envs)


def _statistics(registry: Registry, model: ModelVersion | None) -> dict[str, Any] | None:
    """The training-data profile registered with `model` (statistics.json); None for older versions."""
    if model is None or not model.baselines.get("statistics"):
        return None
    try:
        return registry.read_baseline(model, "statistics")
    except RegistryError:
        return None  # the section is left out rather than failing the promotion


def _passed(
    workspace: Workspace,
    report: GateReport,
    dry_run: bool,
    cost: CostView | None = None,
    profile: ProfileView | None = None,
) -> PromotionResult:
    """Plan the pins (in memory, verified) and render the pull request for a passing candidate."""
    candidate = report.candidate
    pin = ModelPin(version=candidate.version, package_arn=candidate.arn, sha256=candidate.sha256)
    changes = plan_pins(workspace.config_dir, pin)
    rendered = render_promotion(report, changes, repo_url=repo_url(), cost=cost, profile=profile)
    return PromotionResult(
        "promoted",
        candidate,
        report.champion,
        f"{candidate.label} passed the gate",
        report=report,
        title=rendered.title,
        body=rendered.body,
        summary=rendered.body,
        changes=changes,
        body_file=_write_body(workspace, candidate, rendered.body),
        branch=branch_name(candidate.group),
        dry_run=dry_run,
    )


def repo_url() -> str | None:
    """The GitHub repository's web address when running in Actions (links commits in the body)."""
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server}/{repo}" if server and repo else None


def _champion(registry: Registry, workspace: Workspace, group: str, env: str) -> ModelVersion | None:
    pin = load_environment(workspace.config_dir, env).model
    if not pin.pinned:
        return None
    assert pin.version is not None
    try:
        return registry.get(group, pin.version)
    except RegistryError:
        path = workspace.config_dir / f"{env}.yaml"
        raise RegistryError(
            f"{path}:model.version pins {group} v{pin.version} (the champion), but the registry has no such "
            "version; register it, or fix the pin, before promoting"
        ) from None


def _reject(registry: Registry, report: GateReport, dry_run: bool) -> PromotionResult:
    candidate = report.candidate
    reason = "quality gate: " + "; ".join(report.reasons)
    if not dry_run:
        champion = f"v{report.champion.version}" if report.champion else "none"
        registry.update_status(
            candidate.group,
            candidate.version,
            "Rejected",
            reason=reason,
            metadata={"gate": "rejected", "gate_champion": champion},
        )
    summary = render_rejection(report, repo_url=repo_url())
    return PromotionResult(
        "rejected", candidate, report.champion, reason, report=report, summary=summary, dry_run=dry_run
    )


def _write_body(workspace: Workspace, candidate: ModelVersion, body: str) -> Path:
    """The rendered body as a file under `.mlops/` (git-ignored), for `gh pr create --body-file`."""
    path = workspace.ensure().state / "promotion" / f"{candidate.group}-v{candidate.version}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _commit(workspace: Workspace, result: PromotionResult) -> None:
    name = branch_name(result.candidate.group)
    check_ready(workspace.root, [c.path for c in result.changes], name)
    contents = {c.path: c.after for c in result.changes if c.changed}
    result.commit = commit_on_branch(workspace.root, name, contents, result.title)
    result.message += f"; committed {result.commit[:12]} on branch {name}"


def _write(workspace: Workspace, changes: list[PinChange]) -> None:
    """Write the pins, then validate the whole config set; put the old bytes back if it fails."""
    write_pins(changes)
    found = validate_all(workspace.config_dir).problems
    if found:
        for change in changes:
            with change.path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(change.before)
        raise ConfigError(f"the new pins break the config: {found[0]}", details=found)
