"""The `hopdyn` command line.

Every command reads a TOML model spec, runs one analysis through the public
API, prints a short summary and writes its result files into --out.  Errors
in the user's input end with exit status 2 and one line on stderr; results
are computed completely before any file is written, and every file is
written atomically, so a failed run leaves no half-written output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from pathlib import Path
from tokenize import TokenError

import numpy as np

from hopdyn import io
from hopdyn.errors import InputError

__all__ = ["main"]

EXIT_INPUT_ERROR = 2

# Upper bound of --n-random and --basin-samples.
MAX_SAMPLES = 10**6


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2)."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message}")


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def _samples(text):
    value = _count(text)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(
            f"must be an integer <= {MAX_SAMPLES}, got {text}"
        )
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def _common(sub, name, help_text, beta=True):
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("spec", help="TOML model spec")
    if beta:
        parser.add_argument("--beta", type=_positive, required=True, help="beta > 0")
    parser.add_argument("--out", default=".", help="output folder (default: .)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hopdyn",
        description="Dynamical-systems analysis of Hopfield networks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fp = _common(sub, "fixed-points", "all fixed points at one beta")
    fp.add_argument("--n-random", type=_samples, default=200, help="random seeds")
    fp.add_argument("--seed", type=_seed, default=0, help="random seed")

    diagram = _common(sub, "diagram", "bifurcation diagram in beta", beta=False)
    diagram.add_argument("--beta-min", type=_positive, required=True)
    diagram.add_argument("--beta-max", type=_positive, required=True)
    diagram.add_argument(
        "--y", default="norm", help="y-axis: norm, energy or overlap:K (default norm)"
    )
    diagram.add_argument("--max-branches", type=_count, default=200)
    diagram.add_argument(
        "--ds-max",
        type=_positive,
        default=0.05,
        help="largest arclength step (default 0.05; smaller draws smoother curves)",
    )
    diagram.add_argument("--no-progress", action="store_true", help="no progress bar")

    landscape = _common(sub, "landscape", "saddle-attractor graph and catalogue")
    landscape.add_argument("--basin-samples", type=_samples, default=400)
    landscape.add_argument("--seed", type=_seed, default=0)
    landscape.add_argument(
        "--diagram",
        default=None,
        help="diagram.json of `hopdyn diagram`: its branches at --beta seed the "
        "fixed-point search",
    )
    landscape.add_argument("--no-progress", action="store_true")

    portrait = _common(sub, "portrait", "phase portrait at one beta")
    portrait.add_argument(
        "--plane",
        default=None,
        help="for K >= 3: 'patterns:I,J' or 'points:A,B,C' (fixed-point ids)",
    )
    portrait.add_argument("--basins", action="store_true", help="shade basins")
    portrait.add_argument(
        "--format", default="png", help="extra format: svg or pdf (default png only)"
    )

    simulate = _common(sub, "simulate", "integrate trajectories")
    simulate.add_argument("--t-max", type=_positive, required=True)
    simulate.add_argument("--reduced", action="store_true", help="reduced dynamics")
    simulate.add_argument("--method", default="RK45", help="solve_ivp method or euler")
    simulate.add_argument("--dt", type=_positive, default=0.01, help="Euler step")
    simulate.add_argument(
        "--init",
        default="random",
        help="'random', 'pattern:K[:NOISE]' (1-based K) or a .npy/.csv file",
    )
    simulate.add_argument("--noise", type=float, default=0.0, help="additive noise D")
    simulate.add_argument(
        "--anneal",
        default=None,
        help="'BETA_LOW,T_DOWN,T_UP': lower beta to BETA_LOW over a time T_DOWN, "
        "then raise it back over a time T_UP",
    )
    simulate.add_argument(
        "--pulse",
        default=None,
        help="'GENE[+GENE..]:STRENGTH:T_ON:T_OFF' production pulse (modern)",
    )
    simulate.add_argument("--seed", type=_seed, default=0)
    return parser


# ------------------------------------------------------------------ helpers
def _load(spec_path):
    spec = io.load_spec(spec_path)
    model = spec.build_model()
    from hopdyn.symbolic import reduce

    return spec, model, reduce(model)


def _say(text=""):
    print(text)


CELL_WIDTH = 48


def _clip(value):
    """A table cell, shortened so that one long label (a mixture of all ten
    cell types) does not widen every row; the JSON keeps it whole."""
    text = str(value)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def _table(header, rows):
    rows = [[_clip(c) for c in row] for row in rows]
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(header)
    ]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    _say(line)
    _say("  ".join("-" * w for w in widths))
    for row in rows:
        _say("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def _fmt(value, digits=4):
    if value is None:
        return "-"
    return f"{value:.{digits}g}"


def _progress_bar(enabled, description):
    """A tqdm callback, or a no-op when disabled or not on a terminal."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    # disable=None: tqdm draws only when stderr is a terminal, so logs and
    # captured output stay clean.
    bar = tqdm(
        desc=description, unit="step", leave=False, file=sys.stderr, disable=None
    )

    def update(*_args, **_kwargs):
        bar.update(1)

    return update, bar.close


# ----------------------------------------------------------------- commands
def run_fixed_points(args):
    from hopdyn.fixed_points import FinderOptions, find_fixed_points

    _, model, system = _load(args.spec)
    out = io.ensure_out_dir(args.out, ["fixed_points.json"])
    options = FinderOptions(n_random=args.n_random, seed=args.seed)
    result = find_fixed_points(system, args.beta, options=options)

    payload = result.to_dict()
    payload["model"] = model.describe()
    rows = [
        [
            i,
            p.label,
            p.stability,
            p.n_unstable,
            _fmt(p.energy),
            " ".join(f"{v:+.3f}" for v in p.state[:6])
            + (" ..." if len(p.state) > 6 else ""),
        ]
        for i, p in enumerate(result.fixed_points)
    ]
    io.write_json(out / "fixed_points.json", payload)
    _say(f"{model.describe()}, beta = {args.beta:g}: {result.message}")
    _table(["id", "label", "stability", "n_unstable", "energy", "state"], rows)
    _say(f"wrote {out / 'fixed_points.json'}")


def run_diagram(args):
    if args.beta_min >= args.beta_max:
        raise InputError(
            f"--beta-min must be below --beta-max, got {args.beta_min:g} >= "
            f"{args.beta_max:g}"
        )
    from hopdyn.continuation import ContinuationOptions, build_diagram
    from hopdyn.plotting.diagram import plot_diagram

    _, model, system = _load(args.spec)
    _check_y(args.y, system)
    out = io.ensure_out_dir(args.out, ["diagram.json", "diagram.png"])
    options = ContinuationOptions(
        max_branches=args.max_branches,
        ds_max=args.ds_max,
        ds=min(ContinuationOptions.ds, args.ds_max),
    )
    update, close = _progress_bar(not args.no_progress, "continuation")
    try:
        diagram = build_diagram(
            system, args.beta_min, args.beta_max, options=options, progress=update
        )
    finally:
        close()

    payload = diagram.to_dict()
    payload["model"] = model.describe()
    figure = plot_diagram(diagram, y=args.y, title=model.describe())
    io.write_json(out / "diagram.json", payload)
    with io.atomic_path(out / "diagram.png") as tmp:
        figure.savefig(tmp, dpi=150)
    _summarise_diagram(diagram)
    _say(f"wrote {out / 'diagram.json'} and {out / 'diagram.png'}")


def _check_y(y, system):
    if y in ("norm", "energy"):
        if y == "energy" and system.energy is None:
            raise InputError("--y energy: this model is not a gradient flow")
        return
    if y.startswith("overlap:"):
        index = y.split(":", 1)[1]
        if index.isdecimal() and 1 <= int(index) <= system.dimension:
            return
    raise InputError(
        f"--y must be norm, energy or overlap:K with 1 <= K <= {system.dimension}, "
        f"got {y!r}"
    )


def _summarise_diagram(diagram):
    _say(diagram.message)
    rows = []
    for branch in diagram.branches:
        rows.append(
            [
                branch.id,
                branch.label,
                branch.multiplicity,
                f"{branch.beta.min():.3f}-{branch.beta.max():.3f}",
                _stable_intervals(branch) or "-",
            ]
        )
    _table(["branch", "label", "copies", "beta range", "stable for beta"], rows)
    if diagram.special_points:
        _say("special points:")
        sp_rows = [
            [
                s.kind,
                f"{s.beta:.8g}",
                s.branch,
                s.kernel_dimension,
                f"{s.n_unstable_before}->{s.n_unstable_after}",
            ]
            for s in sorted(diagram.special_points, key=lambda p: (p.branch, p.beta))
        ]
        _table(["kind", "beta", "branch", "kernel", "n_unstable"], sp_rows)


def _load_diagram(path, system, beta):
    """The diagram.json record named by --diagram (None when not given)."""
    if path is None:
        return None
    try:
        record = json.loads(Path(path).read_text())
        states = [p["state"] for b in record["branches"] for p in b["points"]]
    except FileNotFoundError:
        raise InputError(f"--diagram: no such file {path!r}") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"--diagram: {path!r} is not a diagram.json ({error})"
        ) from None
    if any(len(s) != system.dimension for s in states):
        raise InputError(
            f"--diagram: {path!r} has states of another dimension than the "
            f"model's {system.dimension}"
        )
    betas = [p["beta"] for b in record["branches"] for p in b["points"]]
    if betas and not min(betas) <= beta <= max(betas):
        raise InputError(
            f"--beta {beta:g} lies outside the range of --diagram {path!r} "
            f"({min(betas):g} to {max(betas):g})"
        )
    return record


def _stable_intervals(branch):
    """The beta intervals where a branch is an attractor, e.g. '2.175-4.000'.

    Runs of a single point (a branch's first point sitting on the state it
    bifurcates from) are not intervals and are left out."""
    stable = np.append(branch.n_unstable == 0, False)
    intervals, start = [], None
    for i, flag in enumerate(stable):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start > 1:
                low, high = sorted((branch.beta[start], branch.beta[i - 1]))
                intervals.append(f"{low:.3f}-{high:.3f}")
            start = None
    return ", ".join(intervals)


def run_landscape(args):
    from hopdyn.landscape import (
        LandscapeOptions,
        build_landscape,
        catalogue_rows,
        write_graphml,
    )
    from hopdyn.plotting.landscape import plot_landscape

    _, model, system = _load(args.spec)
    diagram = _load_diagram(args.diagram, system, args.beta)
    files = ["landscape.json", "catalogue.csv", "landscape.graphml", "landscape.png"]
    out = io.ensure_out_dir(args.out, files)
    options = LandscapeOptions(n_basin_samples=args.basin_samples, seed=args.seed)
    update, close = _progress_bar(not args.no_progress, "landscape")
    try:
        landscape = build_landscape(
            system, args.beta, diagram=diagram, options=options, progress=update
        )
    finally:
        close()

    header, rows = catalogue_rows(landscape)
    figure = plot_landscape(landscape, title=f"{model.describe()}, β = {args.beta:g}")
    io.write_json(out / "landscape.json", landscape.to_dict())
    io.write_csv(out / "catalogue.csv", header, rows)
    write_graphml(landscape, out / "landscape.graphml")
    with io.atomic_path(out / "landscape.png") as tmp:
        figure.savefig(tmp, dpi=150)
    _say(f"{model.describe()}, beta = {args.beta:g}: {landscape.message}")
    shown = [
        "id",
        "label",
        "kind",
        "energy",
        "basin_fraction",
        "basin_stderr",
        "barrier_to_retrieval",
        "joined_retrieval",
    ]
    columns = [header.index(name) for name in shown if name in header]
    _table(
        [header[i] for i in columns],
        [[_cell(row[i]) for i in columns] for row in rows],
    )
    _say(
        "wrote landscape.json, catalogue.csv, landscape.graphml and landscape.png "
        f"in {out}"
    )


def _cell(value):
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return _fmt(value)
    return value


def run_portrait(args):
    from hopdyn.plotting.portrait import plot_portrait, portrait_plane

    _, model, system = _load(args.spec)
    formats = _formats(args.format)
    plane = portrait_plane(system, args.beta, args.plane)
    out = io.ensure_out_dir(args.out, [f"portrait.{fmt}" for fmt in formats])
    figure = plot_portrait(system, args.beta, plane=plane, basins=args.basins)

    for fmt in formats:
        with io.atomic_path(out / f"portrait.{fmt}") as tmp:
            figure.savefig(tmp, dpi=150)
    _say(f"{model.describe()}, beta = {args.beta:g}: {plane.description}")
    _say("wrote " + ", ".join(str(out / f"portrait.{f}") for f in formats))


def _formats(extra):
    valid = ("png", "svg", "pdf")
    chosen = [f.strip().lower() for f in extra.split(",") if f.strip()]
    bad = [f for f in chosen if f not in valid]
    if bad:
        raise InputError(f"--format must be among {', '.join(valid)}, got {bad[0]!r}")
    return ["png"] + [f for f in chosen if f != "png"]


def run_simulate(args):
    from hopdyn import simulate as sim
    from hopdyn.plotting.trajectories import plot_trajectory

    _, model, _ = _load(args.spec)
    x0 = _initial_state(args, model, sim)
    schedule = _schedule(args, sim)
    pulse = _pulse(args, sim)
    out = io.ensure_out_dir(args.out, ["trajectories.csv", "trajectories.png"])
    trajectory = sim.simulate(
        model,
        args.beta,
        args.t_max,
        x0=x0,
        reduced=args.reduced,
        method=args.method,
        dt=args.dt,
        noise=args.noise,
        schedule=schedule,
        pulse=pulse,
        seed=args.seed,
    )

    header, rows = sim.trajectory_rows(trajectory)
    figure = plot_trajectory(trajectory, title=model.describe())
    io.write_csv(out / "trajectories.csv", header, rows)
    with io.atomic_path(out / "trajectories.png") as tmp:
        figure.savefig(tmp, dpi=150)
    _say(f"{model.describe()}, beta = {args.beta:g}: {trajectory.message}")
    final = trajectory.overlaps[-1]
    _say("final overlaps: " + ", ".join(f"{v:+.3f}" for v in final))
    _say(f"wrote {out / 'trajectories.csv'} and {out / 'trajectories.png'}")


def _initial_state(args, model, sim):
    init = args.init
    if init == "random":
        return sim.random_state(model, args.seed, reduced=args.reduced)
    if init.startswith("pattern:"):
        k, scale = _pattern_init(init, model.K)
        return sim.noised_pattern(model, k - 1, scale, args.seed, reduced=args.reduced)

    state = _load_state(init)
    dimension = model.reduced_dimension if args.reduced else model.full_dimension
    if state.shape != (dimension,):
        kind = "reduced" if args.reduced else "full"
        raise InputError(
            f"--init: '{init}' must hold the {dimension} numbers of a {kind} "
            f"state, got {state.size}"
        )
    return state


def _pattern_init(init, n_patterns):
    """K (1-based) and NOISE of --init pattern:K[:NOISE]."""
    parts = init.split(":")
    usage = f"--init must be pattern:K[:NOISE], got {init!r}"
    if len(parts) > 3:
        raise InputError(usage)
    try:
        k = int(parts[1])
        scale = float(parts[2]) if len(parts) > 2 else 0.1
    except ValueError:
        raise InputError(usage) from None
    if not 1 <= k <= n_patterns:
        raise InputError(f"--init pattern:K: K must be in 1..{n_patterns}, got {k}")
    if not (math.isfinite(scale) and scale >= 0):
        raise InputError(
            f"--init pattern:K:NOISE: NOISE must be a finite number >= 0, "
            f"got {parts[2]}"
        )
    return k, scale


def _load_state(init):
    """The numbers in the .npy or CSV file named by --init, as a vector."""
    path = Path(init)
    if not path.is_file():
        raise InputError(f"--init: no such file {init!r} (or use random, pattern:K)")
    try:
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        else:
            values = np.loadtxt(path, delimiter=",", ndmin=1)
        return np.asarray(values, dtype=float).ravel()
    except (OSError, ValueError, TypeError, EOFError, MemoryError, TokenError) as exc:
        reason = " ".join(str(exc).split())
        raise InputError(
            f"--init: cannot read numbers from '{init}' ({reason})"
        ) from None


def _schedule(args, sim):
    if args.anneal is None:
        return None
    try:
        low, t_down, t_up = (float(v) for v in args.anneal.split(","))
    except ValueError:
        raise InputError(
            f"--anneal must be BETA_LOW,T_DOWN,T_UP, got {args.anneal!r}"
        ) from None
    return sim.annealing_schedule(args.beta, low, t_down, t_up)


def _pulse(args, sim):
    if args.pulse is None:
        return None
    try:
        genes, strength, t_on, t_off = args.pulse.rsplit(":", 3)
        values = float(strength), float(t_on), float(t_off)
    except ValueError:
        raise InputError(
            f"--pulse must be GENE[+GENE..]:STRENGTH:T_ON:T_OFF, got {args.pulse!r}"
        ) from None
    return sim.Pulse(tuple(genes.split("+")), *values)


COMMANDS = {
    "fixed-points": run_fixed_points,
    "diagram": run_diagram,
    "landscape": run_landscape,
    "portrait": run_portrait,
    "simulate": run_simulate,
}


def _new_folder(path):
    """The output folder if this run is about to create it, else None."""
    try:
        return None if Path(path).exists() else Path(path)
    except OSError:
        return None  # an unusable name: the command itself reports it


def _remove_if_empty(folder):
    """Undo the creation of an output folder that a failed run left empty."""
    if folder is None:
        return
    # Not empty, or already gone: then there is nothing of ours to remove.
    with contextlib.suppress(OSError):
        folder.rmdir()


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    created = None
    try:
        args = build_parser().parse_args(argv)
        created = _new_folder(args.out)
        # Warnings are shown only after a successful run, so that a failed
        # one prints the single line of its error.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            COMMANDS[args.command](args)
        for w in caught:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except InputError as error:
        _remove_if_empty(created)
        print(f"hopdyn: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("hopdyn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error of
        # the analysis, and nothing more can be printed.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
