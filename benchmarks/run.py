"""Time hopdyn's bifurcation diagrams against brute force and the peers.

    python benchmarks/run.py                 # everything (two to three minutes)
    python benchmarks/run.py --problems net2 --methods hopdyn auto07p
    python benchmarks/run.py --one METHOD PROBLEM   # one fresh-process run

For every problem and method, in this one run:

- in process: the method is set up once (hopdyn: symbolic reduction;
  AUTO-07p: equation files; xpplab: parsing the .ode file), then the whole
  diagram is computed; the first call is timed (for AUTO-07p it includes
  the gfortran compile), then the call is repeated while the repeats stay
  cheap, and the best time is the "in process" time;
- fresh process: ``run.py --one METHOD PROBLEM`` in a new interpreter does
  the imports, the set-up, one diagram and the extraction of its results;
  the parent times it from start to exit;
- what was found: see findings.py; an independent Newton count of the fixed
  points at beta_ref (reference.py, not timed) is the yardstick.

Results go to benchmarks/results.json and into the tables of
benchmarks/README.md (between the "results" markers).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import findings
import numpy as np
import reference
from problems import PROBLEMS

HERE = Path(__file__).resolve().parent
REPEAT_BUDGET = 3.0  # seconds of repeats in process, after the first call
MAX_REPEATS = 5
FRESH_TIMEOUT = 600


class _BruteForce:
    def __init__(self, problem):
        import brute_force  # noqa: PLC0415

        self.problem, self.module = problem, brute_force

    def run(self):
        return self.module.run(self.problem)

    def extract(self, result):
        return {
            "attractors_at_ref": result["attractors_at_ref"],
            "special_points": [],
            "events": findings.events_summary(result),
            "n_branches": None,
            "branch_note": "no branches: end points of trajectories",
            "integrated": result["integrated"],
            "n_unconverged": int(result["n_unconverged"].sum()),
        }

    def close(self):
        pass


def _hopdyn(way):
    def make(problem):
        import hopdyn_side  # noqa: PLC0415

        runner = hopdyn_side.Runner(problem, way)
        runner.extract = lambda d: hopdyn_side.extract(d, runner)
        return runner

    return make


def _auto07p(setting):
    def make(problem):
        import peer_auto07p  # noqa: PLC0415

        runner = peer_auto07p.Runner(problem, setting)
        runner.extract = lambda d: peer_auto07p.extract(d, problem)
        return runner

    return make


def _xpplab(setting):
    def make(problem):
        import peer_xpplab  # noqa: PLC0415

        runner = peer_xpplab.Runner(problem, setting)
        runner.extract = lambda d: peer_xpplab.extract(d, problem, runner.variables)
        return runner

    return make


def _bice(problem):
    import peer_bice  # noqa: PLC0415

    runner = peer_bice.Runner(problem)
    runner.extract = lambda d: peer_bice.extract(d, problem)
    return runner


METHODS = {
    "hopdyn": ("hopdyn (model)", _hopdyn("model")),
    "hopdyn-callables": ("hopdyn (callables)", _hopdyn("callables")),
    "brute-force": ("brute force", _BruteForce),
    "auto07p": ("AUTO-07p (ITMX=8)", _auto07p("default")),
    "auto07p-itmx100": ("AUTO-07p (ITMX=100)", _auto07p("itmx100")),
    "xpplab": ("xpplab (ITMX=8)", _xpplab("default")),
    "xpplab-itmx100": ("xpplab (ITMX=100)", _xpplab("itmx100")),
    "bice": ("bice", _bice),
}
BASELINE = "hopdyn"


# ------------------------------------------------------------------ timing


def in_process(method, problem):
    """Set up, run once, repeat while cheap; return timings and the result."""
    t0 = time.perf_counter()
    runner = METHODS[method][1](problem)
    t1 = time.perf_counter()
    result = runner.run()
    t2 = time.perf_counter()
    first, times = t2 - t1, []
    cheap = first < REPEAT_BUDGET
    while cheap and sum(times) < REPEAT_BUDGET and len(times) < MAX_REPEATS:
        start = time.perf_counter()
        result = runner.run()
        times.append(time.perf_counter() - start)
    found = runner.extract(result)
    runner.close()
    timing = {
        "setup": t1 - t0,
        "first": first,
        "best": min([first, *times]),
        "repeats": len(times),
    }
    return timing, found


def fresh_process(method, problem):
    """Wall time of `run.py --one method problem` in a new interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", method, problem]
    start = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=FRESH_TIMEOUT
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(_last_line(done.stderr) or f"exit {done.returncode}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def one(method, problem_name):
    """The body of a fresh process: imports, set-up, one diagram, extraction."""
    start = time.perf_counter()
    runner = METHODS[method][1](PROBLEMS[problem_name])
    setup = time.perf_counter()
    result = runner.run()
    ran = time.perf_counter()
    runner.extract(result)
    runner.close()
    print(json.dumps({"setup": setup - start, "run": ran - setup}))


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- findings


def summarise(problem, found):
    """What the method found, as plain JSON-ready values."""
    summary = {
        "n_branches": found.get("n_branches"),
        "branch_note": found.get("branch_note"),
        "fixed_points_at_ref": findings.fixed_points_at_ref(problem, found),
        "special": findings.special_summary(problem, found),
    }
    extras = ("n_branches_with_copies", "status", "counters", "events")
    for key in (*extras, "integrated", "n_unconverged"):
        if key in found:
            summary[key] = found[key]
    return summary


def bench_problem(problem, methods, fresh):
    print(f"\n== {problem.title}: beta in [{problem.beta_min}, {problem.beta_max}]")
    entry = {
        "title": problem.title,
        "beta_range": [problem.beta_min, problem.beta_max],
        "reference": reference.fixed_points(problem),
        "methods": {},
    }
    for method in methods:
        record = {"label": METHODS[method][0]}
        try:
            record["timing"], found = in_process(method, problem)
            record["found"] = summarise(problem, found)
            if fresh:
                wall, inside = fresh_process(method, problem.name)
                record["timing"].update(fresh=wall, fresh_inside=inside)
        except Exception as error:  # a peer that fails is reported, not fatal
            record["error"] = f"{type(error).__name__}: {error}"
        entry["methods"][method] = record
        print("  " + _progress_line(record))
    _add_ratios(entry["methods"])
    return entry


def _progress_line(record):
    if "error" in record:
        return f"{record['label']:<22} ERROR {record['error']}"
    t = record["timing"]
    fresh = f"{t['fresh']:.3f}" if "fresh" in t else "-"
    fp = record["found"]["fixed_points_at_ref"]
    return (
        f"{record['label']:<22} in process {t['best']:.4f} s, fresh {fresh} s; "
        f"at beta_ref {fp['attractor']} attractors, {fp['saddle']} saddles"
    )


def _add_ratios(records):
    base = records.get(BASELINE, {}).get("timing")
    if not base:
        return
    for record in records.values():
        t = record.get("timing")
        if not t:
            continue
        t["ratio_in_process"] = t["best"] / base["best"]
        if "fresh" in t and "fresh" in base:
            t["ratio_fresh"] = t["fresh"] / base["fresh"]


# ------------------------------------------------------------------- report


def environment():
    def version(module):
        try:
            return __import__(module).__version__
        except Exception:
            return None

    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {_cpu()}, {_cores()} cores",
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "hopdyn": _command(["git", "-C", str(HERE.parent), "describe", "--always"]),
        "hopdyn_tree": "modified" if _dirty() else "clean",
        "xpplab": version("xpplab"),
        "bice": _bice_version(),
        "auto-07p": _command(["dpkg-query", "-W", "-f", "${Version}", "auto-07p"]),
        "gfortran": _first_line(_command(["gfortran", "--version"])),
        "date": time.strftime("%Y-%m-%d"),
        "load_average_at_start": _load(),
    }


def _bice_version():
    try:
        from importlib.metadata import version  # noqa: PLC0415

        return version("bice")
    except Exception:
        return None


def _command(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _first_line(text):
    return text.splitlines()[0] if text else None


def _dirty():
    status = _command(["git", "-C", str(HERE.parent), "status", "--porcelain"])
    return bool(status)


def _cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _load():
    """1-, 5- and 15-minute load averages: other jobs on the machine."""
    try:
        import os  # noqa: PLC0415

        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cores():
    import os  # noqa: PLC0415

    return os.cpu_count()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


# ------------------------------------------------------------------- driver


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS))
    parser.add_argument("--no-fresh", action="store_true", help="skip subprocesses")
    parser.add_argument("--no-readme", action="store_true", help="leave README alone")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "PROBLEM"))
    args = parser.parse_args(argv)

    if args.one:
        one(*args.one)
        return

    problems = args.problems or list(PROBLEMS)
    methods = args.methods or list(METHODS)
    if BASELINE not in methods:
        methods = [BASELINE, *methods]

    start = time.perf_counter()
    results = {"environment": environment(), "problems": {}}
    for name in problems:
        entry = bench_problem(PROBLEMS[name], methods, not args.no_fresh)
        results["problems"][name] = entry
    results["total_seconds"] = time.perf_counter() - start
    results["environment"]["load_average_at_end"] = _load()

    Path(args.out).write_text(json.dumps(_jsonable(results), indent=1) + "\n")
    print(f"\nwrote {args.out} ({results['total_seconds']:.0f} s in all)")
    if not args.no_readme:
        import report  # noqa: PLC0415

        report.update_readme(HERE / "README.md", results)
        print(f"updated {HERE / 'README.md'}")


if __name__ == "__main__":
    main()
