"""Where the local backend keeps its state: the git-ignored `.mlops/` folder (control plane).

One object knows every path, so nothing else builds `.mlops/...` strings by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WORKSPACE_DIR = ".mlops"


@dataclass(frozen=True)
class Workspace:
    root: Path  # the repository root (holds config/ and ml/)

    @classmethod
    def discover(cls, start: Path | None = None) -> Workspace:
        """MLOPS_ROOT, else the nearest folder upwards holding `config/pipeline.yaml`, else cwd."""
        if os.environ.get("MLOPS_ROOT"):
            return cls(Path(os.environ["MLOPS_ROOT"]).resolve())
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "config" / "pipeline.yaml").is_file():
                return cls(candidate)
        return cls(here)

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
