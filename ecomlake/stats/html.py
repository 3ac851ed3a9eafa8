"""The stats report as one self-contained HTML file: the table and inline SVG charts."""

from __future__ import annotations

from html import escape

from ecomlake.stats.checks import Check
from ecomlake.stats.replicates import REPEAT, TIER
from ecomlake.stats.report import COLUMNS, StatsReport, cells
from ecomlake.stats.svg import bars, lines

_STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; }
tr.bad td { background: #fbd3d3; } tr.skip td { color: #888; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
"""


def render_html(report: StatsReport) -> str:
    """The whole page; every chart is drawn here, nothing is fetched when it is opened."""
    head = (
        f"<h1>ecomlake stats</h1><p>{escape(report.lake)} &mdash; window "
        f"{report.window[0]} .. {report.window[1]} &mdash; "
        f"<b>{'ok' if report.ok else 'NOT OK'}</b></p>"
        + "".join(f"<p>{escape(n)}</p>" for n in report.notes)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>ecomlake stats</title>"
        f"<style>{_STYLE}</style></head><body>{head}<div class='charts'>"
        + "".join(_charts(report))
        + "</div>"
        + _table(report.checks)
        + "</body></html>"
    )


def _charts(report: StatsReport) -> list[str]:
    data, checks = report.charts, report.checks
    out = []
    per_day = data.get("rows_per_day", {})
    if per_day:
        days = sorted({d for rows in per_day.values() for d, _ in rows})
        series = {}
        for name, rows in per_day.items():
            counts = dict(rows)
            series[name] = [float(counts.get(d, 0)) for d in days]
        out.append(lines("Rows per table per day", days, series))
    funnel = data.get("funnel", [])
    if funnel:
        out.append(bars("Funnel", [s for s, _ in funnel], {"rows": [float(n) for _, n in funnel]}))
    for knob, title in (
        ("parameters.signup_channel_distribution", "Signup channel mix"),
        ("parameters.order_channel_distribution", "Order channel mix"),
        (TIER, "Earned tier mix"),
        (REPEAT, "Repeat visits per shopper by segment"),
    ):
        out.append(_expected_vs_realized(title, [c for c in checks if c.knob == knob]))
    lag = data.get("return_lag")
    if lag:
        out.append(
            bars(
                "First-return delay",
                lag["labels"],
                {
                    "configured": lag["configured"],
                    "expected": lag["expected"],
                    "realized": lag["realized"],
                },
            )
        )
    progression = data.get("tier_progression", [])
    if progression:
        initial = sorted({a for a, _, _ in progression})
        final = sorted({b for _, b, _ in progression})
        series = {f"now {b}": [0.0] * len(initial) for b in final}
        for a, b, n in progression:
            series[f"now {b}"][initial.index(a)] = float(n)
        out.append(bars("Tier progression (initial tier -> earned tier)", initial, series))
    return out


def _expected_vs_realized(title: str, rows: list[Check]) -> str:
    def number(value: object) -> float:
        return float(value) if isinstance(value, int | float) else 0.0

    return bars(
        title,
        [r.segment or "" for r in rows],
        {
            "expected": [number(r.expected) for r in rows],
            "realized": [number(r.realized) for r in rows],
        },
    )


def _table(checks: list[Check]) -> str:
    head = "".join(f"<th>{h}</th>" for h in COLUMNS)
    body = []
    for c in checks:
        kind = "bad" if c.ok is False else "skip" if c.ok is None else ""
        row = "".join(f"<td>{escape(v)}</td>" for v in cells(c))
        body.append(f"<tr class='{kind}'>{row}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
