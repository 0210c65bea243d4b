"""Markdown tables from results.json, written into the README between markers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

START = "<!-- results:start -->"
END = "<!-- results:end -->"
MAX_EVENTS = 4


def _seconds(value):
    if value is None:
        return "-"
    if value < 0.1:
        return f"{value:.4f}"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _ratio(value):
    if value is None:
        return "-"
    if value < 0.1:
        return f"{value:.2g}"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def timing_table(entry):
    rows = [
        "| method | in process (s) | ratio | fresh process (s) | ratio "
        "| first call (s) | set-up (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for record in entry["methods"].values():
        if "error" in record:
            rows.append(f"| {record['label']} | failed: {record['error']} |||||| ")
            continue
        t = record["timing"]
        cells = [
            record["label"],
            _seconds(t["best"]),
            _ratio(t.get("ratio_in_process")),
            _seconds(t.get("fresh")),
            _ratio(t.get("ratio_fresh")),
            _seconds(t["first"]),
            _seconds(t["setup"]),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _special_cell(found):
    if "events" in found:
        events = found["events"]
        shown = ", ".join(
            f"{e['beta']:.3f} ({e['change']})" for e in events[:MAX_EVENTS]
        )
        more = f", ... ({len(events)} in all)" if len(events) > MAX_EVENTS else ""
        moving = (
            f"{found['n_unconverged']} of {found['integrated']} end points "
            "still moving at the time limit"
        )
        if not events:
            return moving
        return f"attractor count changes near beta = {shown}{more}; {moving}"
    points = found["special"]["points"]
    if not points:
        return "none"
    parts = []
    for p in points:
        kernel = f" k={p['kernel']}" if p["kernel"] is not None else ""
        times = f" x{p['count']}" if p["count"] > 1 else ""
        parts.append(f"{p['kind']} {p['beta']:.4f}{kernel}{times}")
    return "; ".join(parts)


def _origin_cell(found):
    if "events" in found:
        return "-"
    cells = []
    for check in found["special"]["checks"]:
        expected = check["expected"]
        if not check["found"]:
            cells.append(f"{expected['beta']:.4f}: missed")
            continue
        kernel = "" if check["kernel"] is None else f", k={check['kernel']}"
        cells.append(f"{expected['beta']:.4f}: err {check['error']:.0e}{kernel}")
    return "; ".join(cells)


def _fixed_cell(fp):
    return f"{fp['n']} = {fp['attractor']} / {fp['saddle']} / {fp['repeller']}"


def findings_table(entry, beta_ref):
    rows = [
        "| method | branches | special points found (kind, beta, kernel, copies) "
        f"| closed-form origin BPs | fixed points at beta = {beta_ref} "
        "(all = attr. / saddles / rep.) |",
        "| --- | --- | --- | --- | --- |",
    ]
    ref = entry["reference"]
    rows.append(
        f"| Newton reference ({ref['n_starts']} starts + symmetry, not timed) "
        f"| - | - | - | {_fixed_cell(ref)} |"
    )
    for record in entry["methods"].values():
        if "error" in record:
            continue
        found = record["found"]
        branches = found["n_branches"]
        if "n_branches_with_copies" in found:
            branches = f"{branches} ({found['n_branches_with_copies']} with copies)"
        cells = [
            record["label"],
            "-" if branches is None else str(branches),
            _special_cell(found),
            _origin_cell(found),
            _fixed_cell(found["fixed_points_at_ref"]),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def environment_lines(env):
    keys = ("machine", "python", "numpy", "scipy", "hopdyn", "hopdyn_tree")
    keys += ("auto-07p", "gfortran", "xpplab", "bice", "date")
    keys += ("load_average_at_start", "load_average_at_end")
    return "\n".join(f"- {k}: {env.get(k)}" for k in keys)


def render(results):
    parts = [
        "Measured in one run of `run.py` "
        f"({results['total_seconds']:.0f} s in all). Ratios are the method's "
        "time divided by hopdyn (model)'s time on the same problem: above 1 "
        "is slower than hopdyn, below 1 faster.",
        "",
        environment_lines(results["environment"]),
    ]
    for entry in results["problems"].values():
        low, high = entry["beta_range"]
        heading = f"#### {entry['title']}, beta in [{low}, {high}]"
        parts += ["", heading, "", timing_table(entry)]
        parts += ["", findings_table(entry, entry["reference"]["beta"])]
    return "\n".join(parts)


def update_readme(path, results):
    text = Path(path).read_text()
    if START not in text or END not in text:
        raise ValueError(f"{path} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    Path(path).write_text(f"{head}{START}\n{render(results)}\n{END}{tail}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "results.json"
    update_readme(here / "README.md", json.loads(source.read_text()))
