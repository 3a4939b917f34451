"""`/api/v1/reports/applications`: the period report for a supervisor's scripts (a ministry's
monthly figures), the same figures as /monitor/report; a bad period is a 422 naming its field."""

from __future__ import annotations

from flask import jsonify, request

from engine.reports import period
from webui.api import api, require
from webui.display import medflow, zone


@api.get("/reports/applications")
def report_applications():  # type: ignore[no-untyped-def]
    require("supervisor")
    mf = medflow()
    span = period(request.args.get("from"), request.args.get("to"), zone(), mf.clock.now().astimezone(zone()).date())
    figures = mf.reports.applications(span, request.args.get("process_key") or None)
    return jsonify({"from": span.first.isoformat(), "to": span.last.isoformat(),
                    "processes": [f.to_dict() for f in figures]})
