"""Where the local backend keeps its state: the git-ignored `.mlops/` folder (control plane).

One object knows every path, so nothing else builds `.mlops/...` strings by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import ConfigError

WORKSPACE_DIR = ".mlops"
PIPELINE_CONFIG = Path("config") / "pipeline.yaml"


@dataclass(frozen=True)
class Workspace:
    root: Path  # the repository root (holds config/ and ml/)

    @classmethod
    def discover(cls, start: Path | None = None) -> Workspace:
        """MLOPS_ROOT, else the current folder, which must be a repository root (holding `config/pipeline.yaml`).

        Commands run from the root because relative paths mean one thing there: `--data`,
        `--file`, `data.source` and `.mlops/` all resolve against it. Anywhere else is a
        ConfigError saying where the root is, if there is one above.
        """
        if os.environ.get("MLOPS_ROOT"):
            root = Path(os.environ["MLOPS_ROOT"]).resolve()
            if not (root / PIPELINE_CONFIG).is_file():
                raise ConfigError(f"MLOPS_ROOT={root}: no {PIPELINE_CONFIG} there (it must be a repository root)")
            return cls(root)
        here = (start or Path.cwd()).resolve()
        if (here / PIPELINE_CONFIG).is_file():
            return cls(here)
        above = next((c for c in here.parents if (c / PIPELINE_CONFIG).is_file()), None)
        if above is not None:
            raise ConfigError(f"run mlops from the repository root: cd {above} (this is its subfolder {here})")
        raise ConfigError(
            f"{here} is not a repository of this template (no {PIPELINE_CONFIG}): "
            "run mlops from the root of your checkout, or set MLOPS_ROOT"
        )

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def state(self) -> Path:
        return self.root / WORKSPACE_DIR

    @property
    def registry_db(self) -> Path:
        return self.state / "registry.db"

    @property
    def artifacts(self) -> Path:
        return self.state / "artifacts"

    @property
    def data_cache(self) -> Path:
        return self.state / "data"

    @property
    def runs(self) -> Path:
        return self.state / "runs"

    def endpoint_dir(self, env: str) -> Path:
        return self.state / "endpoints" / env

    def ensure(self) -> Workspace:
        self.state.mkdir(parents=True, exist_ok=True)
        ignore = self.state / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        return self
