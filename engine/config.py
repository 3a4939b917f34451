"""Settings: config.yaml defaults, overridden by MEDFLOW_* environment variables.

Example: ``MEDFLOW_DATABASE_URL=postgresql+psycopg://localhost/medflow`` overrides
``database.url``; ``MEDFLOW_CLOCK=simulated`` overrides the top-level ``clock``.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "MEDFLOW_"


class ConfigError(Exception):
    """A setting is missing or has a value the product cannot use."""


def _apply_env(tree: dict[str, Any], environ: dict[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "MEDFLOW_CONFIG":
            continue
        path = name[len(ENV_PREFIX):].lower()
        value = yaml.safe_load(raw) if raw != "" else ""
        # Longest known prefix wins: MEDFLOW_WORKER_POLL_SECONDS -> worker.poll_seconds.
        node = tree
        parts = path.split("_")
        consumed = 0
        while consumed < len(parts):
            for end in range(len(parts), consumed, -1):
                key = "_".join(parts[consumed:end])
                if isinstance(node, dict) and key in node and isinstance(node[key], dict) and end < len(parts):
                    node = node[key]
                    consumed = end
                    break
            else:
                node["_".join(parts[consumed:])] = value
                break


@dataclass
class Settings:
    """Resolved settings; ``raw`` keeps the whole tree for the less common keys."""

    raw: dict[str, Any] = field(default_factory=dict)
    root: Path = PROJECT_ROOT

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def path(self, dotted: str, default: str = "") -> Path:
        value = Path(str(self.get(dotted, default)))
        return value if value.is_absolute() else self.root / value

    @property
    def mode(self) -> str:
        return str(self.get("mode", "development"))

    @property
    def database_url(self) -> str:
        url = str(self.get("database.url"))
        # Relative SQLite paths are relative to the project, not to the caller's directory.
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.root / url[len(prefix):])
        return url

    @property
    def clock_mode(self) -> str:
        return str(self.get("clock", "real"))

    @property
    def timezone(self) -> str:
        return str(self.get("timezone", "Europe/Moscow"))

    @property
    def calendar_overrides(self) -> Path:
        return self.path("calendar.overrides", "calendar-overrides.yaml")

    def validate(self) -> None:
        if self.mode not in ("development", "production"):
            raise ConfigError(f"mode: ожидается development или production, получено {self.mode!r}")
        if self.clock_mode not in ("real", "simulated"):
            raise ConfigError(f"clock: ожидается real или simulated, получено {self.clock_mode!r}")
        if self.mode == "production" and self.clock_mode == "simulated":
            raise ConfigError("clock: simulated запрещён в режиме production")

    def with_overrides(self, overrides: dict[str, Any]) -> Settings:
        """A copy with dotted keys replaced, for tests and embedding."""
        raw = copy.deepcopy(self.raw)
        for dotted, value in overrides.items():
            node = raw
            *parents, last = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        settings = Settings(raw=raw, root=self.root)
        settings.validate()
        return settings


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read config.yaml (or MEDFLOW_CONFIG) and apply MEDFLOW_* overrides."""
    environ = dict(os.environ if environ is None else environ)
    config_path = path or Path(environ.get("MEDFLOW_CONFIG", PROJECT_ROOT / "config.yaml"))
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"файл настроек не найден: {config_path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"файл настроек {config_path} не читается как YAML: {exc}") from exc
    _apply_env(raw, environ)
    settings = Settings(raw=raw, root=PROJECT_ROOT)
    settings.validate()
    return settings
