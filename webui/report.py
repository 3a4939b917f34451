"""`/monitor/report`: the period report a supervisor sends up every month — per procedure, the
applications that came in and were finished (with their results), working days to finish and the
staff tasks done on time; and `/monitor/report.csv`, its applications one per row for Excel.

The engine (engine/reports.py) counts and checks the period; this module only reads the form,
shows the figures in Russian and streams the CSV (a year of a region's applications is hundreds
of thousands of rows, which the engine reads a page at a time).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from engine.errors import ValidationFailed
from engine.reports import Period, ProcessFigures, csv_chunks, period
from webui.auth import roles_required
from webui.display import field_messages, medflow, zone
from webui.monitor import process_names

report = Blueprint("report", __name__)

# What is longer than any date or process key is cut before it is echoed back into the form.
MAX_INPUT = 100
FIELD_NAMES = {"from": "Начало периода", "to": "Конец периода"}
DASH = "—"


def _today() -> date:
    return medflow().clock.now().astimezone(zone()).date()


def _arguments() -> dict[str, str]:
    """The form's values as sent; with no period at all, this month up to today (the report people
    open most often)."""
    values = {name: (request.args.get(name) or "").strip()[:MAX_INPUT] for name in ("from", "to", "process")}
    if "from" not in request.args and "to" not in request.args:
        today = _today()
        values["from"], values["to"] = today.replace(day=1).isoformat(), today.isoformat()
    return values


def _span(values: dict[str, str]) -> Period:
    """The period of the form; ValidationFailed (errors by field, in Russian) when it is not one."""
    return period(values["from"], values["to"], zone(), _today())


def number(value: float | None) -> str:
    """Working days as people write them: «3», «2,5»; «—» when there is nothing to count."""
    if value is None:
        return DASH
    return f"{value:g}".replace(".", ",")


def on_time(done: int, dated: int) -> str:
    """«75 % (3 из 4)»; «—» when no task had a deadline (0 of 0 is not 0 %)."""
    if not dated:
        return DASH
    return f"{round(100 * done / dated)} % ({done} из {dated})"


def table_rows(figures: list[ProcessFigures], names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per procedure, by its name, for the template."""
    rows = [{"process_key": f.process_key, "name": names.get(f.process_key, f.process_key),
             "submitted": f.submitted, "finished": f.finished, "outcomes": sorted(f.outcomes.items()),
             "median": number(f.median_days()), "p90": number(f.p90_days()), "tasks_done": f.tasks_done,
             "on_time": on_time(f.tasks_on_time, f.tasks_with_deadline)} for f in figures]
    return sorted(rows, key=lambda row: row["name"])


def totals(figures: list[ProcessFigures]) -> dict[str, Any]:
    """Sums over the procedures. Medians are not summed: a median of medians is not the median of
    all applications, so the totals row leaves them out."""
    outcomes: Counter[str] = Counter()
    for entry in figures:
        outcomes.update(entry.outcomes)
    return {"submitted": sum(f.submitted for f in figures), "finished": sum(f.finished for f in figures),
            "outcomes": sorted(outcomes.items()), "median": DASH, "p90": DASH,
            "tasks_done": sum(f.tasks_done for f in figures),
            "on_time": on_time(sum(f.tasks_on_time for f in figures), sum(f.tasks_with_deadline for f in figures))}


@report.get("/report")
@roles_required("supervisor")
def page():  # type: ignore[no-untyped-def]
    values = _arguments()
    names = process_names()
    context: dict[str, Any] = {"values": values, "processes": sorted(names.items(), key=lambda item: item[1]),
                               "errors": [], "field_errors": {}, "span": None}
    try:
        span = _span(values)
    except ValidationFailed as exc:
        context.update(errors=exc.errors, field_errors=field_messages(exc.errors))
        return render_template("monitor/report.html", **context), 422
    # The form shows what the date inputs understand (ISO), also when ДД.ММ.ГГГГ came in the URL.
    values.update({"from": span.first.isoformat(), "to": span.last.isoformat()})
    figures = medflow().reports.applications(span, values["process"] or None)
    context.update(span=span, rows=table_rows(figures, names), totals=totals(figures),
                   csv_url=url_for("report.csv", **{"from": values["from"], "to": values["to"],
                                                    "process": values["process"] or None}))
    return render_template("monitor/report.html", **context)


@report.get("/report.csv", endpoint="csv")  # «report.csv», as the URL reads
@roles_required("supervisor")
def csv_file():  # type: ignore[no-untyped-def]
    values = _arguments()
    try:
        span = _span(values)
    except ValidationFailed as exc:
        reasons = "; ".join(f"{FIELD_NAMES.get(e.get('field') or '', e.get('field'))}: {e.get('message')}"
                            for e in exc.errors)
        return Response(f"Отчёт не построен. {reasons}.\n", status=422, mimetype="text/plain")
    names = process_names()
    rows = medflow().reports.rows(span, values["process"] or None)
    # The period is checked above, before the first byte: a refusal is still a 422, not a broken file.
    # csv_chunks (shared with the CLI) writes the UTF-8 byte-order mark first and «;» between fields:
    # Excel in a Russian locale reads a file without the mark as cp1251 and splits columns at «;».
    response = Response(stream_with_context(chunk.encode("utf-8") for chunk in csv_chunks(rows, names)),
                        mimetype="text/csv")  # Flask adds «; charset=utf-8» to text types
    response.headers["Content-Disposition"] = (
        f'attachment; filename="report-{span.first.isoformat()}-{span.last.isoformat()}.csv"')
    return response

