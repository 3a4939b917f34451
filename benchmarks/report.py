"""The benchmark table: figures next to their ceiling or target, saved as JSON, compared with the
last committed baseline.

A figure has a stable ``key`` (the JSON and the baseline comparison use it) and a ``label`` for
people that may name the sizes of this run. ``ok`` is None for a figure without a target.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    higher_is_better: bool = True
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "—"
        if not self.unit and float(self.value).is_integer():  # counts: errors, duplicates
            return f"{self.value:.0f}"
        magnitude = abs(self.value)
        return f"{self.value:.0f}" if magnitude >= 100 else f"{self.value:.1f}" if magnitude >= 10 else f"{self.value:.2f}"


@dataclass
class Run:
    figures: list[Figure] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    quick: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)

    def get(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)


def machine() -> str:
    cores = os.cpu_count() or 0
    memory = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.node()}, {platform.machine()}, {cores} cores{memory}, Python {platform.python_version()}"


def to_json(run: Run) -> dict[str, Any]:
    return {"date": run.started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "quick": run.quick,
            "figures": {f.key: asdict(f) for f in run.figures}, "errors": run.errors}


def load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("figures"), dict) else None


def change(figure: Figure, baseline: dict[str, Any] | None) -> str:
    """The change against the baseline, signed so that + is always better."""
    if baseline is None or figure.value is None:
        return ""
    old = (baseline.get("figures") or {}).get(figure.key, {}).get("value")
    if not isinstance(old, int | float) or old == 0:
        return "new" if old is None else ""
    delta = (figure.value - old) / abs(old) * 100
    better = delta if figure.higher_is_better else -delta
    return f"{'+' if better >= 0 else '−'}{abs(better):.0f}%"


def table(run: Run, baseline: dict[str, Any] | None) -> str:
    status = {True: "ok", False: "MISSED", None: ""}
    rows = [(f.label + (f" ({f.unit})" if f.unit else ""), f.shown(), f.target, status[f.ok],
             change(f, baseline), f.note) for f in run.figures]
    head = ("figure", "value", "ceiling / target", "", "vs base", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    kind = "QUICK (smoke sizes)" if run.quick else "full"
    lines = [f"MedFlow benchmarks — {run.started:%Y-%m-%d %H:%M} UTC, {machine()} — {kind}"]
    if baseline is not None:
        lines.append(f"vs base: change against benchmarks/results/baseline.json of {baseline.get('date', '?')}"
                     f"{' (quick)' if baseline.get('quick') else ''}; + is better")
    lines.append("  ".join(h.ljust(w) if i != 1 else h.rjust(w) for i, (h, w) in enumerate(zip(head[:5], widths, strict=True))))
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                 row[3].ljust(widths[3]), row[4].rjust(widths[4])]
        lines.append(("  ".join(cells) + (f"  {row[5]}" if row[5] else "")).rstrip())
    for section, error in run.errors.items():
        lines.append(f"ERROR in {section}: {error}")
    return "\n".join(lines)


def save(run: Run, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "latest.json"
    path.write_text(json.dumps(to_json(run), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))
    return float(ordered[rank])
