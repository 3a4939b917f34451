"""Small SVG bar charts drawn on the server: no charting library, readable without JavaScript,
colours paired with text labels (never colour alone).

>>> svg = stacked_bars("Задачи", ["medbook_operators"], {"в срок": [3]}, {"в срок": "#0f7a3d"})  # doctest: +SKIP
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH = 640
LABEL_W = 280
ROW_H = 26


def _short(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _frame(title: str, height: int, body: str, legend: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<style>text{{font:12px system-ui,sans-serif;fill:#0b1f33}} .v{{fill:#fff;font-weight:600}}</style>'
        f"{body}{legend}</svg>")


def _legend(colors: dict[str, str], y: int) -> str:
    parts, x = [], LABEL_W
    for name, color in colors.items():
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x + 16}" y="{y + 10}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(parts)


def stacked_bars(title: str, categories: list[str], series: dict[str, list[float]], colors: dict[str, str],
                 unit: str = "") -> Markup:
    """One horizontal bar per category, split into the series (e.g. in time / near / overdue)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    top = max(totals + [1])
    scale = (WIDTH - LABEL_W - 50) / top
    rows = []
    for i, category in enumerate(categories):
        y = 10 + i * ROW_H
        rows.append(f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end">{escape(_short(category))}</text>')
        x = float(LABEL_W)
        for name, values in series.items():
            value = values[i]
            if value <= 0:
                continue
            w = value * scale
            rows.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW_H - 6}" fill="{colors[name]}">'
                        f"<title>{escape(name)}: {value:g}{unit}</title></rect>")
            if w > 22:
                rows.append(f'<text class="v" x="{x + w / 2:.1f}" y="{y + 15}" text-anchor="middle">{value:g}</text>')
            x += w
        rows.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{totals[i]:g}{unit}</text>')
    if not categories:
        rows.append(f'<text x="{LABEL_W}" y="24">Нет данных</text>')
    height = 10 + max(1, len(categories)) * ROW_H + 30
    return _frame(title, height, "".join(rows), _legend(colors, height - 20))


def grouped_bars(title: str, categories: list[str], series: dict[str, list[float]], colors: dict[str, str],
                 unit: str = "") -> Markup:
    """Bars side by side per category (e.g. median and p90 of a step's duration)."""
    top = max([v for values in series.values() for v in values] + [1])
    scale = (WIDTH - LABEL_W - 60) / top
    bar_h = max(8, (ROW_H * 1.4) / max(1, len(series)))
    group_h = bar_h * len(series) + 10
    rows = []
    for i, category in enumerate(categories):
        y0 = 10 + i * group_h
        rows.append(f'<text x="{LABEL_W - 8}" y="{y0 + group_h / 2:.1f}" text-anchor="end">{escape(_short(category))}</text>')
        for j, (name, values) in enumerate(series.items()):
            y = y0 + j * bar_h
            w = values[i] * scale
            rows.append(f'<rect x="{LABEL_W}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 2:.1f}" '
                        f'fill="{colors[name]}"><title>{escape(name)}: {values[i]:g}{unit}</title></rect>'
                        f'<text x="{LABEL_W + w + 4:.1f}" y="{y + bar_h - 4:.1f}">{values[i]:g}{unit}</text>')
    if not categories:
        rows.append(f'<text x="{LABEL_W}" y="24">Нет данных</text>')
    height = int(10 + max(1, len(categories)) * group_h + 30)
    return _frame(title, height, "".join(rows), _legend(colors, height - 20))
