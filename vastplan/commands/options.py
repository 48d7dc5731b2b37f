"""Options: what one command was asked to do, as the CLI parsed it. Light on purpose: the CLI builds
it before any heavy module (aiohttp, jsonschema) is imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://console.vast.ai"


@dataclass(frozen=True)
class Options:
    stack_file: str = "vastplan.yaml"
    state_file: str | None = None
    api_url: str = DEFAULT_API_URL
    api_key_file: str | None = None
    sandbox_dir: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    var_files: tuple[str, ...] = ()
    environ: dict[str, str] = field(default_factory=dict)  # VASTPLAN_VAR_name values, below --var-file
    parallelism: int = 10
    auto_approve: bool = False
    detailed_exitcode: bool = False
    interactive: bool = False
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    refresh: bool = True
    refresh_only: bool = False
    lock_timeout: float = 0.0
    backend: str | None = None  # a backend URL (--backend / VASTPLAN_BACKEND); None: the stack's, else the file
    lock: bool = True  # --no-lock (Terraform's -lock=false): run without the state lock
    workspace: str = "default"
    adopt: bool = False  # apply --adopt: take this stack's marked objects the state lacks into it first

    @property
    def state_path(self) -> Path:
        """The default workspace's state file; another workspace's lives beside it (see
        ``state.backends.local.workspace_path``)."""
        if self.state_file:
            return Path(self.state_file)
        stack = Path(self.stack_file)
        return stack.with_name(f"{stack.stem}.vpstate.json")

    @property
    def schema_cache(self) -> Path:
        """Where the digest of the stack file's last schema pass is kept: beside the state, in
        ``.vastplan/`` (safe to delete; see ``stack.schema.check_schema_cached``)."""
        return self.state_path.parent / ".vastplan" / f"{Path(self.stack_file).name}.schema-ok"


__all__ = ["DEFAULT_API_URL", "Options"]
