"""The ``defection`` command line (also ``python -m defection``).

Exit status: 0 on success, 2 for bad input (each problem on its own line, naming the file, the
field and the rule), 1 when a run fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from defection import __version__
from defection.model.address import shown
from defection.model.limits import MiB, days, describe, limits_for, size_of
from defection.model.tomlfile import nesting_depth

#: Click's base exception as Typer ships it (Typer vendors Click; ``typer.BadParameter`` is the
#: public name that leads to it).
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class _OneLineErrors(TyperGroup):
    """The command group, with usage errors (a bad option, a missing argument) as one line.

    Click and Typer print a usage error as a box of several lines; here it is one line on stderr,
    ``error: <what> (see `defection <command> --help`)``, exit 2, like every other input error.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except _CLICK_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help is printed already
                sys.exit(exc.exit_code)
            ctx = getattr(exc, "ctx", None)
            where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            message = " ".join(exc.format_message().split())
            err_console.print(
                f"error: {message}{where}", markup=False, highlight=False, soft_wrap=True
            )
            sys.exit(exc.exit_code)
        except typer.Abort:
            err_console.print("aborted", markup=False, highlight=False)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="defection",
    help="Agent-based model of regime stability and military defection.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_OneLineErrors,
)
out_console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"defection {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Agent-based model of regime stability and military defection."""


def _fail_input(problems: list[str]) -> None:
    for line in problems:
        # soft_wrap: one problem per line, never wrapped at the console width
        err_console.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


# -- where the command writes ----------------------------------------------------------------------

#: Suffixes of the files a run folder holds; an existing ``--out`` folder with ``summary.json`` and
#: only such files is a run folder and is replaced whole by a new run (anything else is refused).
RUN_FOLDER_SUFFIXES = (".json", ".parquet", ".png", ".csv", ".md", ".txt")


def output_path(root: Path, *parts: str, what: str) -> Path:
    """``root/parts...`` resolved; exit 2 if a part is not one plain name or the path leaves root.

    Used for every output path the command line builds from data (a scenario's name, a sweep id),
    so no name, whatever the schema allows, can write outside ``results/``.
    """
    base = root.resolve()
    path = base
    for part in parts:
        bad = (
            not part
            or part in (".", "..")
            or "/" in part
            or "\\" in part
            or "\0" in part
            or (os.altsep is not None and os.altsep in part)
        )
        if bad:
            _fail_input(
                [
                    f"{what} {part!r}: not usable as a folder name (one plain name: no '/', "
                    f"'..' or absolute path), so outputs stay under {root}/"
                ]
            )
        path = path / part
    resolved = path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        _fail_input([f"{what}: {path} resolves to {resolved}, outside {root}/ (a link?)"])
    return resolved


def _output_problems(path: Path, option: str, kind: str) -> list[str]:
    """Why ``path`` cannot be written as a ``kind`` ("folder" or "file"); checked before any work.

    It is a file (or a folder), it lies below a file, or its nearest existing folder is not
    writable.
    """
    path = path.absolute()
    if kind == "folder" and path.exists() and not path.is_dir():
        return [f"{option} {path}: is a file, not a folder"]
    if kind == "file" and path.is_dir():
        return [f"{option} {path}: is a folder, not a file"]
    anc = path.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        return [f"{option} {path}: lies below {anc}, which is a file"]
    try:  # a real probe: os.access says yes to root on a read-only file system
        tempfile.TemporaryDirectory(dir=anc, prefix=".defection-probe-").cleanup()
    except OSError as exc:
        return [f"{option} {path}: cannot write in {anc} ({exc.strerror or exc})"]
    return []


def _check_run_folder(out: Path, option: str) -> None:
    """Refuse (exit 2) an ``--out`` that cannot take a run's outputs, before the run starts."""
    problems = _output_problems(out, option, "folder")
    if not problems and out.is_dir():
        here = Path.cwd().resolve()
        target = out.resolve()
        entries = list(target.iterdir())
        if target == here or here.is_relative_to(target):
            problems = [f"{option} {out}: is the current folder or holds it; choose a new folder"]
        elif entries and not (
            (target / "summary.json").is_file()
            and all(e.is_file() and e.suffix in RUN_FOLDER_SUFFIXES for e in entries)
        ):
            problems = [
                f"{option} {out}: exists and is not a run folder (it holds other files); a run "
                "replaces its folder whole, so choose a new or empty folder"
            ]
    if problems:
        _fail_input(problems)


def _write_run_folder(out: Path, write: Any) -> Any:
    """Call ``write(folder)`` on a temporary sibling of ``out``; rename it into place when done.

    A failed or interrupted run leaves ``out`` as it was (absent, or the previous run's complete
    outputs), and an existing run folder is replaced whole, never mixed with the new files.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        result = write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a run folder is an ordinary one
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.rename(out, old / out.name)
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(old / out.name, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def parse_sets(items: list[str]) -> dict[str, Any]:
    """Parse ``name=value`` strings; values are TOML literals (``0.5``, ``true``) or bare text."""
    out: dict[str, Any] = {}
    problems = []
    for item in items:
        name, sep, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            problems.append(f"--set {item!r}: expected name=value (for example soldiers.pay=0.5)")
            continue
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        except RecursionError:
            value = None
        if value is None or nesting_depth(value) > 1:
            problems.append(
                f"--set {shown(item)}: a value is a number, true/false, a name or a list of "
                "them, not nested tables or arrays"
            )
            continue
        out[name] = value
    if problems:
        _fail_input(problems)
    return out


def _load_package(policy: str | None, package: str | None, sc: Any, allow_large: bool) -> Any:
    """The package ``--policy``/``--package`` name, checked against the scenario (or None).

    Prints the scenario's events that set a lever the package holds or yields (stderr).
    """
    from defection.model.policy import (
        describe_conflict,
        event_conflicts,
        load_policy,
        scenario_problems,
    )
    from defection.model.scenario import ScenarioError

    if policy is None:
        if package is not None:
            _fail_input(["--package: only with --policy"])
        return None
    try:
        pf = load_policy(policy, limits_for(allow_large))
        if package is None:
            if len(pf.packages) > 1:
                _fail_input(
                    [
                        f"{pf.origin}: has {len(pf.packages)} packages; choose one with "
                        f"--package ({', '.join(pf.packages)})"
                    ]
                )
            package = next(iter(pf.packages))
        pkg = pf.package(package)
        if problems := scenario_problems(pkg, sc, pf.origin):
            _fail_input(problems)
    except ScenarioError as exc:
        _fail_input(exc.problems)
    for c in event_conflicts(pkg, sc):
        err_console.print(
            f"note: {describe_conflict(c, pkg.name)}", markup=False, highlight=False, soft_wrap=True
        )
    return pkg


def _load(scenario: str, sets: list[str] | None = None, allow_large: bool = False):
    from defection.model.scenario import ScenarioError, load

    overrides = parse_sets(sets or [])
    try:
        return load(scenario, overrides, limits=limits_for(allow_large))
    except ScenarioError as exc:
        _fail_input(exc.problems)


#: ``--allow-large``, shared by run, validate and sweep.
ALLOW_LARGE_HELP = (
    "Raise the size limits (grid cells, agents, regions, groups, events, horizon, sweep runs; "
    "README 'Resource limits') from a budget of 1 GiB per run to 16 GiB. Costs what it says: a "
    "run at the raised limits can take hours and most of a machine's memory, and a sweep needs "
    "that much for each worker."
)
AllowLarge = Annotated[bool, typer.Option("--allow-large", help=ALLOW_LARGE_HELP)]

#: A run expected to need more than this at its peak prints the estimate before it starts.
LARGE_RUN_BYTES = 512 * MiB


def _note_run_memory(sc: Any) -> None:
    """Print the expected peak memory of a run of ``sc`` if it is large."""
    size = size_of(sc)
    _note_memory(
        size.peak_bytes,
        f"({size.agents:,.0f} agents on {size.cells:,} cells, up to {days(size.days)})",
    )


def _note_memory(peak: int, detail: str) -> None:
    """Print the expected peak memory of a large run before it starts (stderr)."""
    if peak >= LARGE_RUN_BYTES:
        err_console.print(
            f"note: expected peak memory about {peak / MiB:,.0f} MiB {detail}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or path to a TOML file.")],
    seed: Annotated[int, typer.Option(help="Seed of the run's random generator.")] = 1,
    steps: Annotated[
        int | None, typer.Option(help="Days to simulate (overrides run.horizon).", min=1)
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a parameter: name=value (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder [default: results/runs/<scenario>/seed-<N>].")
    ] = None,
    until_horizon: Annotated[
        bool, typer.Option("--until-horizon", help="Keep running after the outcome.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ensemble: Annotated[
        int | None,
        typer.Option(
            help="Run N parameter vectors drawn from the calibrated sample, each with "
            "--seeds-per-draw seeds; report outcome probabilities and shares with 90 % intervals.",
            min=1,
        ),
    ] = None,
    seeds_per_draw: Annotated[
        int, typer.Option(help="Seeds per drawn vector (with --ensemble).", min=1)
    ] = 3,
    sample: Annotated[
        Path | None,
        typer.Option(help="Sample to draw from (with --ensemble) [default: the calibrated one]."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Policy file (path or bundled name, docs/POLICIES.md) whose --package is applied."
        ),
    ] = None,
    package: Annotated[
        str | None,
        typer.Option(help="Package of --policy to apply (default: its only package)."),
    ] = None,
    allow_large: AllowLarge = False,
) -> None:
    """Run a scenario and write summary.json, timeseries.parquet, groups.parquet, cascade.png."""
    if seed < 0:
        _fail_input([f"--seed {seed}: must be a whole number >= 0"])
    sets = list(set_ or [])
    if steps is not None:
        sets.append(f"run.horizon={steps}")
    sc = _load(scenario, sets, allow_large)
    pkg = _load_package(policy, package, sc, allow_large)
    if ensemble is not None:
        _note_run_memory(sc)  # each of the ensemble's runs, one after another
        _run_ensemble(sc, ensemble, seeds_per_draw, sample, seed, until_horizon, out, quiet, pkg)
        return
    if sample is not None:
        _fail_input(["--sample: only with --ensemble"])
    from defection.model.scenario import ScenarioError
    from defection.runner import simulate, write_outputs

    if out is None:
        parts = (sc.name, pkg.name) if pkg is not None else (sc.name,)
        out = output_path(Path("results") / "runs", *parts, f"seed-{seed}", what="scenario name")
        _check_run_folder(out, "output folder")
    else:
        _check_run_folder(out, "--out")
    _note_run_memory(sc)
    horizon = sc.params["run.horizon"]
    try:
        with Progress(
            TextColumn(f"[bold]{sc.name}[/] seed {seed}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days"),
            TimeRemainingColumn(),
            console=err_console,
            disable=quiet,
            transient=True,
        ) as bar:
            task = bar.add_task("run", total=horizon)
            model = simulate(
                sc,
                seed,
                until_horizon,
                on_day=lambda m: bar.update(task, completed=m.day),
                policy=pkg,
            )
        # into a temporary sibling folder, renamed into place when complete
        summary = _write_run_folder(out, lambda folder: write_outputs(model, seed, folder))
    except ScenarioError as exc:
        _fail_input(exc.problems)
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, not a traceback
        err_console.print(
            f"error: run failed: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    _print_summary(summary, out)


def _run_ensemble(
    sc: Any,
    draws: int,
    seeds: int,
    sample_path: Path | None,
    seed: int,
    until_horizon: bool,
    out: Path | None,
    quiet: bool,
    pkg: Any = None,
) -> None:
    """``defection run --ensemble N``: draws x seeds runs, summarised with intervals."""
    from defection.ensemble import EnsembleError, load_sample, run_ensemble
    from defection.model.scenario import ScenarioError

    try:
        sample = load_sample(sample_path)
    except EnsembleError as exc:
        _fail_input([str(exc)])
    folder = f"ensemble-{draws}x{seeds}-seed-{seed}"
    if out is None:
        parts = (sc.name, pkg.name) if pkg is not None else (sc.name,)
        out = output_path(Path("results") / "runs", *parts, folder, what="scenario name")
    _check_run_folder(out, "--out")
    try:
        with Progress(
            TextColumn(f"[bold]{sc.name}[/] ensemble"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs"),
            TimeRemainingColumn(),
            console=err_console,
            disable=quiet,
            transient=True,
        ) as bar:
            task = bar.add_task("runs", total=draws * seeds)
            result = run_ensemble(
                sc,
                sample,
                draws,
                seeds,
                seed,
                until_horizon,
                lambda i: bar.update(task, completed=i),
                policy=pkg,
            )

        def write(folder_path: Path) -> dict[str, Any]:
            folder_path.mkdir(parents=True, exist_ok=True)
            (folder_path / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
            return result

        _write_run_folder(out, write)
    except ScenarioError as exc:
        _fail_input(exc.problems)
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, not a traceback
        err_console.print(
            f"error: ensemble failed: {type(exc).__name__}: {exc}", markup=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    _print_ensemble(result, out)


def _print_ensemble(r: dict[str, Any], out: Path) -> None:
    level = f"{r['level']:.0%}"
    t = Table(
        title=f"{r['scenario']}: {r['draws']} draws x {r['seeds_per_draw']} seeds "
        f"= {r['runs']} runs",
        title_justify="left",
    )
    for col in ("", "estimate", f"{level} interval"):
        t.add_column(col)
    for name, o in r["outcomes"].items():
        t.add_row(f"P({name})", f"{o['p']:.2f}", f"{o['lo']:.2f} - {o['hi']:.2f}")
    for name, v in r["shares"].items():
        t.add_row(name.replace("_", " "), f"{v['median']:.2%}", f"{v['lo']:.2%} - {v['hi']:.2%}")
    out_console.print(t)
    out_console.print(
        f"sample: {r['sample']}; outcome intervals are Wilson intervals over runs, share "
        f"intervals the central {level} of runs; written to {out}",
        soft_wrap=True,
    )


def _print_summary(s: dict[str, Any], out: Path) -> None:
    ppa = s["people_per_agent"]
    t = Table(title=f"{s['title']} (seed {s['seed']})", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    day = f" on day {s['outcome_day']}" if s["outcome_day"] is not None else ""
    t.add_row("outcome", f"{s['outcome']}{day} ({s['outcome_rule']})")
    for state, share in s["soldiers"].items():
        t.add_row(
            f"soldiers {state}", f"{share:7.2%}  {s['soldiers_people'][state]:>12,.0f} people"
        )
    t.add_row("elites defected", f"{s['elites']['defected']:7.2%}")
    t.add_row(
        "peak active protesters",
        f"{s['peak_active_protesters']:7.2%}  {s['peak_active_protesters_people']:>12,.0f} people",
    )
    part = s["participation"]
    t.add_row(
        "peak participation",
        f"{part['peak_share']:7.3%}  {part['peak_people']:>12,.0f} people "
        f"(of {part['denominator']:,.0f}; NAVCO bin {part['bin']})",
    )
    n_reg = len(s["regions"])
    t.add_row("regions with a defection", f"{s['regions_with_defection']} of {n_reg}")
    t.add_row("people per soldier agent", f"{ppa:g}")
    out_console.print(t)
    if n_reg > 1:
        r = Table(title="regions", title_justify="left")
        for col in ("region", "garrison", "left", "had defection"):
            r.add_column(col)
        for reg in s["regions"]:
            r.add_row(
                reg["name"],
                f"{reg['garrison_people']:,.0f}",
                f"{reg['defected_share']:.1%}",
                "yes" if reg["had_defection"] else "",
            )
        out_console.print(r)
    out_console.print(
        f"one draw: seed {s['seed']} of one parameter vector (the registry defaults, the "
        "calibrated sample's medoid, and the scenario's values); --ensemble N gives outcome "
        "probabilities with intervals",
        soft_wrap=True,
    )
    out_console.print(f"wrote {out}/summary.json, timeseries.parquet, groups.parquet, cascade.png")


@app.command()
def validate(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="Bundled scenario name or path to a TOML file (or --navco ID instead).",
            show_default=False,
        ),
    ] = None,
    navco: Annotated[
        int | None,
        typer.Option(
            "--navco",
            help="Instead of a file: the scenario a NAVCO campaign is coded to (a fitting-set "
            "regime-change campaign with a participation figure), built as calibration builds "
            "it; prints its features and the values the mapping wrote.",
            min=1,
            show_default=False,
        ),
    ] = None,
    draw: Annotated[
        int | None,
        typer.Option(
            help="Which coding of the campaign: the draw of its unknown features (0 unless given; "
            "with --navco).",
            min=0,
            show_default=False,
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            help="Write the coded scenario to this TOML file, which `defection run` accepts "
            "(replaces an existing file; with --navco).",
            show_default=False,
        ),
    ] = None,
    allow_large: AllowLarge = False,
) -> None:
    """Check a scenario as `run` does, without running it; print its problems (exit 2) or 'ok'.

    The schema, the size limits, and every check the model makes before it builds (a vision
    wider than the grid, densities above 1, soldiers that do not fit, a stated peak that cannot
    be reached). With --navco ID: the same checks on the scenario the campaign is coded to
    (docs/CASES.md).
    """
    from defection.model.building import build_problems

    problems = []
    if scenario is not None and navco is not None:
        problems.append(f"{scenario} and --navco {navco}: give one scenario, not both")
    elif scenario is None and navco is None:
        problems.append(
            "validate: give a SCENARIO (a bundled name or a TOML file) or --navco ID (see "
            "`defection validate --help`)"
        )
    if navco is None:
        problems += [
            f"{opt}: only with --navco"
            for opt, v in (("--draw", draw), ("--write", write))
            if v is not None
        ]
    elif allow_large:
        problems.append(
            "--allow-large: not with --navco (a coded campaign is two 40 x 40 regions, within "
            "the default limits)"
        )
    if write is not None:
        problems += _output_problems(write, "--write", "file")
    if problems:
        _fail_input(problems)
    if navco is not None:
        _validate_navco(navco, draw or 0, write)
        return
    assert scenario is not None
    sc = _load(scenario, allow_large=allow_large)
    src = sc.path if sc.path else scenario
    if problems := build_problems(sc, str(src)):
        _fail_input(problems)
    print(
        f"ok: {src} ({sc.name}: {len(sc.regions)} regions, {len(sc.events)} events; a run "
        f"needs {describe(size_of(sc))} at its peak)"
    )


def _validate_navco(campaign_id: int, draw: int, write: Path | None) -> None:
    """``defection validate --navco ID``: build, report and check a coded NAVCO campaign.

    The scenario is :func:`~defection.calibration.casecode.coded_campaign`'s, with the mapping
    coefficients ``case.*`` at their registry defaults, as a calibration case is built. A
    test-set campaign is refused before anything of it is read beyond its split.
    """
    from defection.calibration import casecode
    from defection.calibration import navco as nv
    from defection.model.building import build_problems
    from defection.model.scenario import ScenarioError

    origin = f"navco:{campaign_id}"
    try:
        units = nv.regime_change(nv.campaigns(nv.load_rows()))
        sc, drawn = casecode.coded_campaign(campaign_id, draw, units=units)
        coded = casecode.navco_features(campaign_id, units)
    except casecode.CaseError as exc:
        _fail_input([f"--navco: {exc}"])
    except nv.DataError as exc:
        _fail_input([f"NAVCO data: {exc}"])
    except ScenarioError as exc:
        _fail_input(exc.problems)
    row = units.loc[units[nv.ID] == campaign_id].iloc[0]
    _print_campaign(row, draw)
    _print_case_tables(casecode.describe(coded, drawn), casecode.mapped_values(sc, drawn))
    if problems := build_problems(sc, origin):
        if write is not None:
            problems.append(f"--write {write}: not written (the scenario has the problems above)")
        _fail_input(problems)
    print(
        f"ok: {origin} draw {draw} ({sc.name}: {len(sc.regions)} regions, {len(sc.events)} "
        f"events; a run needs {describe(size_of(sc))} at its peak)"
    )
    if write is not None:
        header = (
            f"NAVCO ID {campaign_id}, coding draw {draw}: written by `defection validate --navco "
            f"{campaign_id} --draw {draw}` (defection {__version__}), the mapping coefficients "
            "case.* at their registry defaults.\nWhich values are NAVCO's and which were drawn "
            "from a prior: [sources] and docs/CASES.md. Run it with `defection run` on this file."
        )
        try:
            _write_file(write, casecode.scenario_toml(sc.raw, header))
        except OSError as exc:
            err_console.print(
                f"error: --write {write}: cannot write ({exc.strerror or exc})",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
        print(f"wrote {write} (`defection run {write}` runs it)")


def _print_campaign(row: Any, draw: int) -> None:
    """The campaign a coded scenario stands for (never its targets, DEFECT and SUCCESS)."""
    t = Table(title="campaign", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    years = f"{row['BYEAR']}-{row['EYEAR']}" if row["BYEAR"] != row["EYEAR"] else f"{row['BYEAR']}"
    shown_rows = [
        ("NAVCO ID", str(row["NAVCO ID"])),
        ("campaign", str(row["CAMPAIGN"])),
        ("location", str(row["LOCATION"])),
        ("years", years),
        ("method", str(row["method"])),
        ("participation", f"{row['share']:.3%} of the population (bin {row['bin']})"),
        ("coding draw", f"{draw} (the unknown features' draw)"),
    ]
    if row.get("other_rows"):
        shown_rows.append(("other rows", f"{row['other_rows']} (the first phase is coded)"))
    for name, value in shown_rows:
        t.add_row(name, Text(value))
    out_console.print(t)


def _print_case_tables(features: list[tuple[str, ...]], mapped: list[tuple[str, ...]]) -> None:
    """The coded features and the scenario values the mapping wrote from them."""
    f = Table(title="features", title_justify="left")
    for col in ("feature", "value", "from", "prior"):
        f.add_column(col)
    for row in features:
        f.add_row(*(Text(cell) for cell in row))
    out_console.print(f)
    m = Table(title="scenario values the mapping wrote", title_justify="left")
    for col in ("address", "value", "from (feature, or case.* coefficient)"):
        m.add_column(col)
    for row in mapped:
        m.add_row(*(Text(cell) for cell in row))
    out_console.print(m)
    out_console.print(
        "inputs only: DEFECT and SUCCESS are the campaign's targets and are not shown; the "
        "case.* coefficients are at their registry defaults (calibrated parameters)",
        soft_wrap=True,
    )


def _write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling renamed into place."""
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the file is an ordinary one
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command()
def schema(
    policy: Annotated[
        bool, typer.Option("--policy", help="The policy files' schema (docs/POLICIES.md).")
    ] = False,
) -> None:
    """Print the JSON Schema of scenario files, or of policy files (for editor completion)."""
    if policy:
        from defection.model.policy import json_schema as policy_schema

        print(json.dumps(policy_schema(), indent=2))
        return
    from defection.model.scenario import json_schema

    print(json.dumps(json_schema(), indent=2))


@app.command()
def scenarios() -> None:
    """List the bundled scenarios."""
    from defection.model.scenario import bundled_names, load

    t = Table("name", "title", "regions", "events")
    for name in bundled_names():
        sc = load(name)
        t.add_row(name, sc.title, str(len(sc.regions)), str(len(sc.events)))
    out_console.print(t)


@app.command()
def params(
    markdown: Annotated[bool, typer.Option(help="Print the Markdown table (README).")] = False,
    levers: Annotated[bool, typer.Option(help="Only policy levers.")] = False,
) -> None:
    """List every parameter with its default, range, unit and role (the Markdown adds source)."""
    from defection.model.params import PARAMS, markdown_table

    if markdown:
        print(markdown_table(levers_only=levers))
        return
    t = Table("name", "default", "range", "unit", "role")
    for p in PARAMS:
        if levers and not p.lever:
            continue
        rng = "/".join(p.choices) if p.choices else ("" if p.lo is None else f"{p.lo:g}..{p.hi:g}")
        t.add_row(p.name, str(p.default), rng, p.unit, p.role)
    out_console.print(t)


class _RateColumn(ProgressColumn):
    """Runs per second over the runs done in this invocation."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:5.1f} runs/s" if speed else "  ... runs/s", style="cyan")


#: Options shared by the commands that run many models (``sweep``, ``calibrate``).
WorkersOption = Annotated[
    int | None,
    typer.Option(
        help="Local worker processes (default: one per core); 1 runs in this process.", min=1
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address (tcp://HOST:PORT): run on that cluster."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Validate and print the design; run nothing.")
]


@app.command()
def sweep(
    spec: Annotated[
        Path,
        typer.Argument(
            help="Sweep file (TOML), such as scenarios/sweeps/baseline_pay_repression.toml."
        ),
    ],
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    db: Annotated[Path, typer.Option(help="Results database (DuckDB).")] = Path(
        "results/sweeps.duckdb"
    ),
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run the sweep's failed runs again.")
    ] = False,
    dry_run: DryRunOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    allow_large: AllowLarge = False,
) -> None:
    """Run a sweep: every design point x replicate, stored in DuckDB; resumes where it stopped."""
    from defection.sweep.engine import scheduler_address_problem

    problems = _output_problems(db, "--db", "file")
    if scheduler is not None and (why := scheduler_address_problem(scheduler)):
        problems.append(f"--scheduler {scheduler!r}: {why}")
    if problems:
        _fail_input(problems)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if scheduler is None and (workers or cores or 1) > 1:
        from defection.sweep import start_forkserver

        start_forkserver()  # its imports overlap with ours and with the spec's validation

    from defection.model.scenario import ScenarioError
    from defection.sweep.spec import load_spec

    if workers is not None and scheduler is not None:
        _fail_input(
            ["--workers and --scheduler: choose one (on a cluster, its workers are the workers)"]
        )
    try:
        sw = load_spec(spec, limits=limits_for(allow_large))
    except ScenarioError as exc:
        _fail_input(exc.problems)
    n_workers = workers or cores or 1
    where = _where(scheduler, n_workers)
    axes = ", ".join(
        f"{d.address} ({len(d.values)} values)" if d.values else f"{d.address} [{d.lo:g}, {d.hi:g}]"
        for d in sw.dims
    )
    err_console.print(
        f"sweep [bold]{sw.sweep_id}[/]: {sw.meta.design} design, {len(sw.points)} points x "
        f"{sw.replicates} replicates = {sw.n_runs} runs of {sw.scenario.name}; varies {axes}",
        soft_wrap=True,
    )
    parallel = 1 if scheduler else n_workers
    _note_memory(
        sw.peak_bytes,
        "per run (the largest of the design)"
        + (f"; {parallel} workers at once need {parallel} times that" if parallel > 1 else ""),
    )
    if dry_run:
        return
    from defection.sweep.coordinator import run_sweep

    def work(store, on_start, on_result):
        return run_sweep(
            sw,
            store,
            workers=n_workers,
            scheduler=scheduler,
            retry_failed=retry_failed,
            on_start=on_start,
            on_result=on_result,
        )

    prog = _stored_runs(db, where, quiet, "sweep", work)
    _print_sweep_summary(sw, prog, db)


@app.command()
def policies(
    policy: Annotated[
        str, typer.Argument(help="Policy file (path or bundled name, docs/POLICIES.md).")
    ],
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario", help="Scenario to compare on (repeatable) [default: the file's own]."
        ),
    ] = None,
    package: Annotated[
        str | None,
        typer.Option(help="Packages to compare, comma-separated [default: all]."),
    ] = None,
    ensemble: Annotated[
        int | None,
        typer.Option(
            help="Draw N parameter vectors from the calibrated sample [default: one draw, the "
            "scenarios' own values].",
            min=1,
        ),
    ] = None,
    seeds_per_draw: Annotated[int, typer.Option(help="Seeds per draw.", min=1)] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the draws and the run seeds.", min=0)] = 1,
    sample: Annotated[
        Path | None,
        typer.Option(help="Sample to draw from (with --ensemble) [default: the calibrated one]."),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    db: Annotated[Path, typer.Option(help="Results database (DuckDB).")] = Path(
        "results/policies.duckdb"
    ),
    out: Annotated[
        Path | None,
        typer.Option(help="Report folder [default: results/policies/<comparison id>]."),
    ] = None,
    dry_run: DryRunOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Compare a policy file's packages (and doing nothing) over draws x seeds, paired."""
    from defection.ensemble import EnsembleError, load_sample
    from defection.model.policy import load_policy, scenario_problems
    from defection.model.scenario import ScenarioError, load
    from defection.policylab import make_comparison
    from defection.sweep.engine import scheduler_address_problem

    problems = _output_problems(db, "--db", "file")
    if scheduler is not None and (why := scheduler_address_problem(scheduler)):
        problems.append(f"--scheduler {scheduler!r}: {why}")
    if workers is not None and scheduler is not None:
        problems.append("--workers and --scheduler: choose one")
    if sample is not None and ensemble is None:
        problems.append("--sample: only with --ensemble")
    if out is not None:
        problems += _output_problems(out, "--out", "folder")
    if problems:
        _fail_input(problems)
    try:
        pf = load_policy(policy)
        names = scenario or list(pf.scenarios)
        if not names:
            _fail_input([f"{pf.origin}: names no scenarios; give --scenario"])
        scenarios = [load(n) for n in names]
        chosen = [x.strip() for x in package.split(",")] if package else list(pf.packages)
        for name in chosen:
            pkg = pf.package(name)
            for sc in scenarios:
                problems += scenario_problems(pkg, sc, pf.origin)
        if problems:
            _fail_input(problems)
        smp = load_sample(sample) if ensemble is not None else None
    except ScenarioError as exc:
        _fail_input(exc.problems)
    except EnsembleError as exc:
        _fail_input([str(exc)])
    cmp = make_comparison(pf, scenarios, chosen, smp, ensemble or 1, seeds_per_draw, seed)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n_workers = workers or cores or 1
    where = _where(scheduler, n_workers)
    draws = f"{ensemble} draws from the calibrated sample" if ensemble else "one draw (no sample)"
    err_console.print(
        f"comparison [bold]{cmp.comparison_id}[/]: {len(cmp.packages)} packages (none and "
        f"{len(cmp.packages) - 1} of {pf.origin}) x {len(scenarios)} scenarios x {draws} x "
        f"{seeds_per_draw} seeds = {cmp.n_runs} runs",
        soft_wrap=True,
    )
    if dry_run:
        return
    if scheduler is None and n_workers > 1:
        from defection.sweep import start_forkserver

        start_forkserver()
    from defection.policylab import analyse, runs_frame, tasks_for, write_report
    from defection.sweep.coordinator import Progress as RunProgress
    from defection.sweep.coordinator import run_tasks
    from defection.sweep.engine import CaseScenarios

    def work(store, on_start, on_result):
        store.register(cmp.store_view())
        done = store.done_ids(cmp.comparison_id)
        prog = RunProgress(cmp.comparison_id, cmp.n_runs, skipped=len(done))
        run_tasks(
            tasks_for(cmp, done),
            CaseScenarios(cmp.scenarios),
            store,
            prog,
            1 if scheduler else n_workers,
            scheduler,
            on_start,
            on_result,
        )
        return prog, runs_frame(cmp, store)

    prog, df = _stored_runs(db, where, quiet, "comparison", work)
    table, effects = analyse(df, [n for n, _ in cmp.packages])
    folder = out or Path("results") / "policies" / cmp.comparison_id
    parts = ["defection policies", policy, *(f"--scenario {n}" for n in (scenario or []))]
    parts += [f"--package {package}"] if package else []
    parts += [f"--ensemble {ensemble}"] if ensemble else []
    parts += [f"--sample {sample}"] if sample else []
    parts += [f"--seeds-per-draw {seeds_per_draw}"] if seeds_per_draw != 3 else []
    parts += [f"--seed {seed}"] if seed != 1 else []
    command = " ".join(parts)  # what sets the runs (not where they ran or were stored)
    files = write_report(cmp, table, effects, folder, command)
    _print_policies(cmp, table, prog, files[2])


def _print_policies(cmp: Any, table: Any, prog: Any, report: Path) -> None:
    """The comparison's headline table: per scenario and package, the outcome and who left."""
    for sc in cmp.scenarios:
        t = Table(title=f"{sc}", title_justify="left")
        for col in ("package", "side", "runs", "P(regime falls)", "force that left (median)"):
            t.add_column(col)
        sides = {n: (p.side if p is not None else "-") for n, p in cmp.packages}
        for _, r in table[table["scenario"] == sc].iterrows():
            t.add_row(
                r["package"],
                sides[r["package"]],
                str(r["runs"] - r["failed"]),
                f"{r['p_fell']:.0%} ({r['p_fell_lo']:.0%}-{r['p_fell_hi']:.0%})",
                f"{r['left_median']:.1%} ({r['left_lo']:.1%}-{r['left_hi']:.1%})",
            )
        out_console.print(t)
    out_console.print(
        f"{prog.done} runs this time ({prog.failed} failed), {prog.skipped} already stored; "
        f"model outputs under stated assumptions, not advice; report: {report}",
        soft_wrap=True,
    )


def _where(scheduler: str | None, n_workers: int) -> str:
    """Where runs run, in words (for the line before the progress bar)."""
    if scheduler:
        return f"Dask cluster {scheduler}"
    return "this process" if n_workers == 1 else f"{n_workers} local worker processes"


def _stored_runs(db: Path, where: str, quiet: bool, what: str, work: Any) -> Any:
    """Run ``work(store, on_start, on_result)`` on the open database, with the runs' bar.

    ``on_start(prog)`` and ``on_result(prog, result)`` are the coordinator's callbacks. A stop
    says what was saved: exit 2 for a bad ``--db``; 1 for an error (``what`` names the job in
    the message); 130 or 143 on Ctrl-C or SIGTERM.

    Returns:
        What ``work`` returns.
    """
    from defection.sweep.errors import BadDatabase, SweepError
    from defection.sweep.store import Store

    bar = _progress_bar(quiet)
    task_id = None

    def on_start(prog) -> None:
        nonlocal task_id
        if prog.skipped:
            err_console.print(f"resuming: {prog.skipped} of {prog.total} runs already in {db}")
        err_console.print(f"running on {where}")
        bar.start()
        task_id = bar.add_task("runs", total=prog.total - prog.skipped)

    def on_result(prog, res) -> None:
        bar.update(task_id, completed=prog.done)
        _raise_if_stopped()

    previous = _stop_on_signals()
    opened: list[Store] = []  # the store, to say what a stopped job saved
    try:
        with Store(db) as store:
            opened.append(store)
            try:
                return work(store, on_start, on_result)
            finally:
                bar.stop()
    except BadDatabase as exc:
        _fail_input([f"--db: {exc}"])
    except SweepError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        saved = _saved(opened, db)
        _sweep_interrupted(saved, exc.signum if isinstance(exc, _Stopped) else signal.SIGINT)
    except Exception as exc:  # noqa: BLE001 - reported in one line; the runs so far are saved
        saved = _saved(opened, db)
        if _received:  # DuckDB turns a signal during a query into RuntimeError: still a stop
            _sweep_interrupted(saved, _received[-1])
        err_console.print(
            f"error: {what} stopped: {type(exc).__name__}: {' '.join(str(exc).split())} "
            f"({saved}; run the same command to resume)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _saved(opened: list[Any], db: Path) -> str:
    """What a stopped sweep saved, from the runs its store committed in this invocation."""
    n = opened[0].committed if opened else 0
    if n == 0:
        return f"no run of this invocation was saved in {db}"
    return f"{n} finished run{'s' if n != 1 else ''} saved in {db}"


def _sweep_interrupted(saved: str, signum: int) -> None:
    how = "terminated" if signum == signal.SIGTERM else "interrupted"
    err_console.print(
        f"{how}: {saved}; run the same command to resume",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(128 + signum)


#: Stop signals received while a sweep runs (see :func:`_stop_on_signals`).
_received: list[int] = []


class _Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT, raised in the main thread so that the sweep's clean-up runs.

    The finished runs are written and the worker processes and the fork server are stopped.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop_on_signals() -> dict[int, Any]:
    """Turn the first SIGTERM or SIGINT into :class:`_Stopped`; ignore repeats during clean-up.

    Returns the previous handlers (none when not called from the main thread, where Python
    delivers signals).
    """
    import threading

    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}
    signums = (signal.SIGINT, signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        for s in signums:
            signal.signal(s, signal.SIG_IGN)
        _received.append(signum)
        raise _Stopped(signum)

    return {s: signal.signal(s, handler) for s in signums}


def _raise_if_stopped() -> None:
    """Raise the stop a DuckDB call swallowed, once the next run comes back.

    DuckDB checks for signals while it runs a query, and can drop the handler's exception: in a
    loop of batch writes stopped at random moments, about one stop in ten raised nothing. The
    handler has then already ignored further signals, so without this check the sweep would run
    on and no second Ctrl-C could stop it.
    """
    if _received:
        raise _Stopped(_received[-1])


def _print_sweep_summary(sw: Any, prog: Any, db: Path) -> None:
    from defection.model.outputs import OUTCOMES

    t = Table(title=f"{sw.title} ({sw.sweep_id})", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("runs this time", f"{prog.done} in {prog.seconds:.1f} s")
    if prog.skipped:
        t.add_row("already in the database", str(prog.skipped))
    if prog.retried_failed:
        t.add_row("failed runs retried", str(prog.retried_failed))
    ok = prog.done - prog.failed
    for outcome in OUTCOMES:
        n = prog.outcomes.get(outcome, 0)
        share = f" ({n / ok:.0%} of this time's runs)" if ok else ""
        t.add_row(outcome, f"{n}{share}")
    t.add_row("failed", str(prog.failed) + (" (see runs.error)" if prog.failed else ""))
    t.add_row("database", str(db))
    out_console.print(t)
    out_console.print(
        f"next: defection report {sw.sweep_id} --db {db}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _backend_problems(db: Path, workers: int | None, scheduler: str | None) -> list[str]:
    """Problems of ``--db``, ``--scheduler`` and ``--workers`` with ``--scheduler``."""
    from defection.sweep.engine import scheduler_address_problem

    problems = _output_problems(db, "--db", "file")
    if scheduler is not None and (why := scheduler_address_problem(scheduler)):
        problems.append(f"--scheduler {scheduler!r}: {why}")
    if workers is not None and scheduler is not None:
        problems.append(
            "--workers and --scheduler: choose one (on a cluster, its workers are the workers)"
        )
    return problems


def _n_workers(workers: int | None) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return workers or cores or 1


@app.command()
def calibrate(
    spec: Annotated[
        Path,
        typer.Argument(help="Calibration spec (TOML), such as calibration/specs/ci_screen.toml."),
    ],
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Results folder, committed to git [default: calibration/<name>]."),
    ] = None,
    db: Annotated[Path, typer.Option(help="Runs database (DuckDB), for resuming.")] = Path(
        "results/calibration.duckdb"
    ),
    dry_run: DryRunOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    levers: Annotated[
        str | None,
        typer.Option(
            "--levers",
            help="A levers spec only: run the runs of these levers (comma-separated registry "
            "names) and commit them; default: every lever with runs left, lever by lever, until "
            "the time budget.",
        ),
    ] = None,
) -> None:
    """Run a Morris screen, a history-matching wave, a check or a levers part; resumes.

    The runs go to the DuckDB database; when the last one is in, the analysis and the compact
    results (design, run summaries, emulators, manifest) are written to the results folder. A
    levers spec runs in parts: each invocation commits its runs to the results folder, and the
    next one, even on a fresh clone, runs only the rest (docs/CALIBRATION.md, "Lever cliffs").
    """
    problems = _backend_problems(db, workers, scheduler)
    if problems:
        _fail_input(problems)
    n_workers = _n_workers(workers)
    if scheduler is None and n_workers > 1 and not dry_run:
        from defection.sweep import start_forkserver

        start_forkserver()

    from defection.calibration.runs import out_problems
    from defection.calibration.spec import load_calibration
    from defection.model.scenario import ScenarioError

    try:
        cal = load_calibration(spec)
    except ScenarioError as exc:
        _fail_input(exc.problems)
    if cal.check is not None and cal.check.test_set:
        _fail_input(
            [
                f"{spec}: field `check.test_set`: a check that runs the NAVCO test set runs only "
                "with `defection validation --test-set`, which records the touch"
            ]
        )
    if levers is not None and cal.kind != "levers":
        _fail_input(
            [f'--levers: only with a levers spec (kind = "levers"); {spec} is a {cal.kind}']
        )
    if out is None:
        out = output_path(Path("calibration"), cal.name, what="calibration name")
    if cal.kind == "levers":
        _calibrate_levers(cal, out, db, n_workers, scheduler, quiet, dry_run, levers)
        return
    problems = _output_problems(out, "--out", "folder") or out_problems(out)
    if problems:
        _fail_input(problems)
    _print_calibration_plan(cal, n_workers, scheduler)
    if dry_run:
        return
    prog, runs, files = _run_calibration(cal, out, db, n_workers, scheduler, quiet)
    _print_calibration_summary(cal, prog, runs, out, files)


def _calibrate_levers(
    cal: Any,
    out: Path,
    db: Path,
    n_workers: int,
    scheduler: str | None,
    quiet: bool,
    dry_run: bool,
    given: str | None,
) -> None:
    """Run one part of a levers spec and commit it (calibration/levers.py); exit as ``calibrate``.

    Exit 0 when the part's runs are all committed; 1 when the time budget stopped it (what
    finished is committed: the same command resumes) or an error did (finished runs are in the
    database; the next invocation commits them); 2 for bad input.
    """
    from defection.calibration import levers as lv
    from defection.calibration.runs import BudgetSpent
    from defection.sweep.errors import BadDatabase, SweepError
    from defection.sweep.store import Store

    chosen, problems = lv.select_levers(cal, given)
    problems += _output_problems(out, "--out", "folder") or lv.folder_problems(out, cal)
    if problems:
        _fail_input(problems)
    _, committed = lv.read_committed(out)
    committed_ids = set(committed["run_id"])
    in_db: set[str] = set()
    if db.is_file():
        try:
            with Store(db, read_only=True) as store:
                in_db = store.done_ids(cal.calib_id) - committed_ids
        except BadDatabase as exc:
            _fail_input([f"--db: {exc}"])
        except SweepError as exc:  # another invocation holds it (DuckDB: one writer at a time)
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            if not dry_run:
                raise typer.Exit(1) from None
            err_console.print(
                "the plan below counts only the committed runs, not those finished in the "
                "database and not committed yet",
                highlight=False,
            )
    tasks = lv.part_tasks(cal, committed_ids | in_db, chosen)
    _print_levers_plan(cal, out, chosen, committed, in_db, tasks, n_workers, scheduler)
    if dry_run:
        return
    where = _where(scheduler, n_workers)
    bar = _progress_bar(quiet)
    task_id = None

    def on_start(prog, clock) -> None:
        nonlocal task_id
        if prog.skipped:
            err_console.print(
                f"resuming: {prog.skipped} of this part's {prog.total} runs already committed or "
                f"in {db}",
                highlight=False,
            )
        err_console.print(f"running on {where}")
        bar.start()
        task_id = bar.add_task(cal.name, total=prog.total - prog.skipped)

    def on_result(prog, res, timing) -> None:
        bar.update(task_id, completed=prog.done)
        if timing:
            bar.console.print(timing, markup=False, highlight=False, soft_wrap=True)
        _raise_if_stopped()

    import datetime as dt

    from defection.calibration.runs import _commit

    stopped: str | None = None
    previous = _stop_on_signals()
    try:
        with Store(db) as store:
            prog = None
            try:
                prog = lv.run_part(
                    cal,
                    store,
                    chosen,
                    committed_ids,
                    workers=n_workers,
                    scheduler=scheduler,
                    on_start=on_start,
                    on_result=on_result,
                )
            except BudgetSpent as exc:
                stopped = str(exc)
            finally:
                bar.stop()
            part = {
                "levers": chosen if given is not None else "all with runs left",
                "seconds": round(prog.seconds, 1) if prog is not None else None,
                "workers": 1 if scheduler else n_workers,
                **_commit(),
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            files, added = lv.commit(cal, out, store.runs(cal.calib_id), part)
    except BadDatabase as exc:
        _fail_input([f"--db: {exc}"])
    except lv.LeversError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except SweepError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        _sweep_interrupted(
            f"finished runs are in {db}; the next invocation commits them",
            exc.signum if isinstance(exc, _Stopped) else signal.SIGINT,
        )
    except Exception as exc:  # noqa: BLE001 - reported in one line; the runs so far are saved
        if _received:
            _sweep_interrupted(
                f"finished runs are in {db}; the next invocation commits them", _received[-1]
            )
        err_console.print(
            f"error: levers part stopped: {type(exc).__name__}: {exc} (finished runs are in "
            f"{db}; run the same command to resume)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _print_levers_summary(cal, out, added, files)
    if stopped:
        err_console.print(
            f"stopped: {stopped.replace('finished runs are saved', 'finished runs are committed')}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _progress_bar(quiet: bool) -> Progress:
    """The runs' progress bar (runs done of the total, rate, elapsed and left)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
    )


def _print_levers_plan(
    cal: Any,
    out: Path,
    chosen: list[str],
    committed: Any,
    in_db: set[str],
    tasks: list[Any],
    workers: int,
    scheduler: str | None,
) -> None:
    """A levers spec's design, what is committed, this part and its estimated time."""
    from defection.calibration import levers as lv

    info, plan = cal.sample_info, cal.levers
    cases = ", ".join(c.name for c in cal.cases)
    say = lambda text: err_console.print(text, soft_wrap=True, highlight=False)  # noqa: E731
    say(
        f"levers [bold]{cal.calib_id}[/]: {plan.table.draws} vectors drawn from {info['path']} "
        f"(sha256 {info['sha256'][:12]}, {info['vectors']} vectors) x {len(cal.cases)} case(s) "
        f"({cases}) x {len(plan.ranges)} levers x {plan.table.values} values x "
        f"{cal.meta.seeds} seed(s) = {cal.n_runs:,} runs; measure: the share of the force that "
        "left, on each run's last day"
    )
    done = committed.groupby("lever").size().to_dict() if len(committed) else {}
    complete = [n for n in plan.names if done.get(n, 0) >= lv.part_size(cal, [n])]
    line = (
        f"committed in {out}: {len(committed):,} of {cal.n_runs:,} runs; levers complete: "
        f"{len(complete)} of {len(plan.names)}"
    )
    if in_db:
        line += f"; {len(in_db):,} more runs are in the database (committed by this invocation)"
    say(line)
    n_workers = 1 if scheduler else workers
    minutes, secs = lv.estimate(cal, tasks, committed, n_workers)
    d = cal.design
    todo = set(d.loc[d["point"].isin({t.point for t in tasks}), "lever"])
    left = [n for n in chosen if n in todo]
    part = ", ".join(left[:6]) + (f", ... ({len(left)} levers)" if len(left) > 6 else "")
    if minutes is not None:
        took = (
            f"{minutes * 60:.0f} s"
            if minutes < 1
            else (f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h")
        )
        est = f"about {took} on {n_workers} worker{'s' if n_workers > 1 else ''}"
    else:
        est = "time unknown (a case without run_seconds; the estimate follows the first runs)"
    timing = "; ".join(f"{c} {sec:.2f} s a run ({how})" for c, (sec, how) in secs.items())
    say(
        f"this part: {len(tasks):,} runs of {part or 'no lever'}; {est}"
        + (f" ({timing})" if timing else "")
    )
    line = f"budget: at most {cal.budget.max_minutes:g} min per invocation"
    if minutes is not None and minutes > cal.budget.max_minutes:
        line += (
            "; this part is longer: it stops there, commits what finished, and the same command "
            "resumes"
        )
    say(line)
    for rec in plan.edit_records():
        say(
            f"event changed for {rec['lever']}'s runs of {rec['case']}: day {rec['day']} "
            f"{rec['kind']}: {lv.describe_edit(rec).replace('`', '')}"
        )


def _print_levers_summary(cal: Any, out: Path, added: int, files: list[Path]) -> None:
    """Per (case, lever): runs committed, the median largest step and the verdict so far."""
    from defection.calibration import levers as lv

    manifest, runs = lv.read_committed(out)
    if manifest is None:
        out_console.print(f"nothing committed in {out}", highlight=False)
        return
    rows = lv.lever_rows(runs, lv.plan_of(manifest))
    rows = rows[rows["status"] != "not run"]
    t = Table(title=f"{cal.title} ({cal.calib_id})", title_justify="left")
    for col in ("lever", "case", "runs", "median largest step", "90 % over draws", "verdict"):
        t.add_column(col)
    for r in rows.itertuples():
        interval = f"{r.q_lo:.3f} – {r.q_hi:.3f}" if r.draws else "–"
        median = f"{r.median:.3f}" if r.draws else "–"
        t.add_row(r.lever, r.scenario, f"{r.runs} of {r.planned}", median, interval, str(r.status))
    out_console.print(t)
    m = manifest["runs"]
    out_console.print(
        f"{added} runs committed this time; {m['committed']:,} of {m['planned']:,} in {out}",
        highlight=False,
    )
    for f in files:
        out_console.print(f"wrote {f}", markup=False, highlight=False)
    out_console.print(
        f"next: defection validation --levers-report --levers-folder {out}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _run_calibration(
    cal: Any,
    out: Path,
    db: Path,
    n_workers: int,
    scheduler: str | None,
    quiet: bool,
    keep: tuple[str, ...] = (),
) -> tuple[Any, Any, list[Path]]:
    """Run (or resume) a calibration's runs and write its results folder; exit as ``calibrate``.

    Exit 2 for a bad ``--db``; 1 when the time budget is spent, a backend cannot start or an
    error stops it (finished runs are saved); 130 or 143 on Ctrl-C or SIGTERM.

    Returns:
        ``(progress, runs frame, files written)``.
    """
    from defection.calibration.runs import BudgetSpent, run_calibration, runs_frame, write_results
    from defection.sweep.errors import BadDatabase, SweepError
    from defection.sweep.store import Store

    where = _where(scheduler, n_workers)
    bar = _progress_bar(quiet)
    task_id = None

    def on_start(prog, clock) -> None:
        nonlocal task_id
        if prog.skipped:
            err_console.print(f"resuming: {prog.skipped} of {prog.total} runs already in {db}")
        err_console.print(f"running on {where}")
        bar.start()
        task_id = bar.add_task(cal.name, total=prog.total - prog.skipped)

    def on_result(prog, res, timing) -> None:
        bar.update(task_id, completed=prog.done)
        if timing:
            bar.console.print(timing, markup=False, highlight=False, soft_wrap=True)
        _raise_if_stopped()

    previous = _stop_on_signals()
    try:
        with Store(db) as store:
            try:
                prog = run_calibration(
                    cal,
                    store,
                    workers=n_workers,
                    scheduler=scheduler,
                    on_start=on_start,
                    on_result=on_result,
                )
            finally:
                bar.stop()
            runs = runs_frame(cal, store)
        missing = cal.n_runs - len(runs)
        if missing:  # cannot happen unless the database lost rows: do not analyse a partial set
            raise SweepError(f"{missing} of {cal.n_runs} runs are missing from {db}")
        err_console.print(
            "analysing ..." if cal.kind != "check" else "writing ...", highlight=False
        )
        files = write_results(cal, runs, out, seconds=prog.seconds, keep=keep)
    except BadDatabase as exc:
        _fail_input([f"--db: {exc}"])
    except BudgetSpent as exc:
        err_console.print(f"stopped: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except SweepError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        _sweep_interrupted(db, exc.signum if isinstance(exc, _Stopped) else signal.SIGINT)
    except Exception as exc:  # noqa: BLE001 - reported in one line; the runs so far are saved
        if _received:
            _sweep_interrupted(db, _received[-1])
        err_console.print(
            f"error: calibration stopped: {type(exc).__name__}: {exc} (finished runs are saved "
            f"in {db}; run the same command to resume)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return prog, runs, files


@app.command()
def validation(
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    test_set: Annotated[
        bool,
        typer.Option(
            "--test-set",
            help="Also run the NAVCO test set (validation_test.toml): touched once, recorded.",
        ),
    ] = False,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="With --test-set: touch the test set again with another sample or design "
            "(recorded; the report says so).",
        ),
    ] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only", help="Write the report from the committed runs; run nothing."
        ),
    ] = False,
    dry_run: DryRunOption = False,
    db: Annotated[Path, typer.Option(help="Runs database (DuckDB), for resuming.")] = Path(
        "results/calibration.duckdb"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    spec: Annotated[
        Path | None,
        typer.Option(
            help="The validation check spec (default: calibration/specs/validation.toml)."
        ),
    ] = None,
    test_spec: Annotated[
        Path | None,
        typer.Option(
            help="The test-set check spec (default: calibration/specs/validation_test.toml)."
        ),
    ] = None,
    results: Annotated[
        Path, typer.Option(help="Folder of the checks' committed results folders.")
    ] = Path("calibration"),
    docs: Annotated[
        Path, typer.Option(help="Where VALIDATION.md and validation/*.png are written.")
    ] = Path("docs"),
    levers_report: Annotated[
        bool,
        typer.Option(
            "--levers-report",
            help="Only write the lever-cliff section of CALIBRATION.md and calibration/levers.png "
            "(in --docs) from the committed levers runs; run nothing.",
        ),
    ] = False,
    levers_folder: Annotated[
        Path | None,
        typer.Option(
            help="With --levers-report: the levers results folder [default: <results>/levers]."
        ),
    ] = None,
) -> None:
    """Run (or resume) the validation checks and write docs/VALIDATION.md from committed runs.

    The validation spec crosses the calibrated sample's vectors with the five cases and the NAVCO
    fitting campaigns; --test-set adds the test campaigns (touched once, recorded in the results
    folder's touches.json). When a spec's committed results are current nothing is run; the
    report is written from the committed runs alone (docs/CALIBRATION.md, "Validation").
    """
    from defection.calibration import validation as val

    if levers_report or levers_folder is not None:
        _write_levers_report(
            levers_report, levers_folder, results, docs, test_set, again, report_only, dry_run
        )
        return
    problems = _backend_problems(db, workers, scheduler)
    if again and not test_set:
        problems.append("--again: only with --test-set (it allows a second touch of the test set)")
    if report_only and (test_set or dry_run):
        problems.append(
            "--report-only: writes the report from committed runs and runs nothing; leave out "
            "--test-set and --dry-run"
        )
    problems += _output_problems(results, "--results", "folder")
    problems += _output_problems(docs, "--docs", "folder")
    if problems:
        _fail_input(problems)
    names = (_spec_name(spec, "validation"), _spec_name(test_spec, "validation_test"))
    if report_only:
        _write_validation_report(results, docs, *names)
        return
    n_workers = _n_workers(workers)
    if scheduler is None and n_workers > 1 and not dry_run:
        from defection.sweep import start_forkserver

        start_forkserver()

    from defection.calibration.runs import out_problems
    from defection.calibration.spec import load_calibration
    from defection.model.scenario import ScenarioError

    paths = [(spec or _near(val.SPEC_PATH), False)]
    if test_set:
        paths.append((test_spec or _near(val.TEST_SPEC_PATH), True))
    cals = []
    for path, is_test in paths:
        try:
            cal = load_calibration(path)
        except ScenarioError as exc:
            _fail_input(exc.problems)
        if cal.check is None:
            problems.append(
                f"{path}: field `calibration.kind`: defection validation runs a check "
                f'(kind = "check"), not a {cal.kind}'
            )
        elif cal.check.test_set != is_test:
            problems.append(
                f"{path}: field `check.test_set`: "
                + (
                    "the --test-set spec must say `test_set = true`"
                    if is_test
                    else "the validation spec runs the fitting set; the test set is run only by "
                    "--test-set (calibration/specs/validation_test.toml)"
                )
            )
        out = results / cal.name
        problems += _output_problems(out, "results folder", "folder") or out_problems(out)
        cals.append((cal, out, is_test))
    if len({c.name for c, _, _ in cals}) != len(cals):
        problems.append("--spec and --test-spec: the two specs have one name; results would clash")
    for cal, out, is_test in cals:
        if is_test and not problems and (why := val.touch_problem(out, cal, again)):
            problems.append(why)
    if problems:
        _fail_input(problems)
    for cal, _, _ in cals:
        _print_calibration_plan(cal, n_workers, scheduler)
    if dry_run:
        return

    import time

    from defection.calibration.runs import _commit

    deadline = time.monotonic() + cals[0][0].budget.max_minutes * 60.0
    for cal, out, is_test in cals:
        if _committed_id(out) == cal.calib_id:
            err_console.print(
                f"{cal.name}: nothing left to run: {out} holds the committed runs of "
                f"{cal.calib_id}",
                highlight=False,
                soft_wrap=True,
            )
            continue
        left = (deadline - time.monotonic()) / 60.0
        if left <= 0:
            err_console.print(
                f"stopped: this invocation's time budget ({cals[0][0].budget.max_minutes:g} min) "
                f"is spent before {cal.name}; run the same command to resume",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1)
        minutes = min(cal.budget.max_minutes, left)
        cal.budget = cal.budget.model_copy(update={"max_minutes": minutes})
        if is_test:
            val.record_touch(out, cal, again, _commit())
            err_console.print(f"test set touched: recorded in {out / val.TOUCHES}", highlight=False)
        _, _, files = _run_calibration(
            cal, out, db, n_workers, scheduler, quiet, keep=(val.TOUCHES,) if is_test else ()
        )
        if is_test:
            val.finish_touch(out, cal)
        out_console.print(f"{cal.name}: {cal.n_runs} runs committed in {out}", highlight=False)
    _write_validation_report(results, docs, *names)


def _write_levers_report(
    asked: bool,
    folder: Path | None,
    results: Path,
    docs: Path,
    *others: bool,
) -> None:
    """``validation --levers-report``: the levers section from committed runs; exit 2 without."""
    from defection.calibration.levers import LeversError, write_report

    problems = []
    if not asked:
        problems.append("--levers-folder: only with --levers-report")
    if any(others):
        problems.append(
            "--levers-report: writes the levers section from committed runs and runs nothing; "
            "leave out --test-set, --again, --report-only and --dry-run"
        )
    folder = folder if folder is not None else results / "levers"
    problems += _output_problems(docs, "--docs", "folder")
    if problems:
        _fail_input(problems)
    try:
        files = write_report(folder, docs, shown=str(_near(folder)))
    except LeversError as exc:
        _fail_input([str(exc)])
    except Exception as exc:  # noqa: BLE001 - one line, no traceback; the runs are committed
        err_console.print(
            f"error: levers report failed: {type(exc).__name__}: {exc} (the committed runs are "
            "kept; the same command retries)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    for f in files:
        out_console.print(f"wrote {f}", markup=False, highlight=False)


def _near(path: Path) -> Path:
    """``path`` relative to the current folder when it lies below it (shorter error lines)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _committed_id(out: Path) -> str | None:
    """The calibration id of the committed results in ``out`` (None: none, or unreadable)."""
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["calibration_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _spec_name(path: Path | None, default: str) -> str:
    """A spec's ``calibration.name`` (its results folder's name), read without validating it."""
    if path is None:
        return default
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8"))["calibration"]["name"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        _fail_input([f"{path}: cannot read its `calibration.name` ({type(exc).__name__})"])
    if not isinstance(name, str):
        _fail_input([f"{path}: field `calibration.name`: must be a name (got {name!r})"])
    return output_path(Path("calibration"), name, what="calibration name").name


def _write_validation_report(results: Path, docs: Path, fit: str, test: str) -> None:
    """Write docs/VALIDATION.md and its plots from the committed runs; exit 2 without them."""
    from defection.calibration.validation import ReportError, write_report

    try:
        files = write_report(results, docs, fit, test)
    except ReportError as exc:
        _fail_input([f"--results: {exc} (run `defection validation` first)"])
    except Exception as exc:  # noqa: BLE001 - one line, no traceback; the runs are committed
        err_console.print(
            f"error: report failed: {type(exc).__name__}: {exc} (the committed runs are kept; "
            "`defection validation --report-only` retries)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    for f in files:
        out_console.print(f"wrote {f}", markup=False, highlight=False)


def _print_calibration_plan(cal: Any, workers: int, scheduler: str | None) -> None:
    """The budget and the design, before anything runs."""
    if cal.kind == "check":
        info = cal.sample_info
        err_console.print(
            f"check [bold]{cal.calib_id}[/]: {cal.check.draws} vectors drawn from {info['path']} "
            f"(sha256 {info['sha256'][:12]}, {info['vectors']} vectors) x every case: "
            f"{cal.n_points} (vector, case) points, {cal.n_runs} runs over {len(cal.cases)} cases"
            f"{' (NAVCO test set)' if cal.check.test_set else ''}; "
            f"targets: {', '.join(t.name for t in cal.targets)}",
            soft_wrap=True,
            highlight=False,
        )
        entry = cal.check_entry()["per_case"]
        groups: dict[str, list[Any]] = {}
        for c in cal.cases:
            groups.setdefault(c.group, []).append(c.name)
        parts = []
        for g, names in groups.items():
            v = entry[names[0]]
            runs = sum(cal.case_runs()[n] for n in names)
            size = f"{len(names)} cases x " if len(names) > 1 else ""
            parts.append(f"{g} {size}{v['draws']} draws x {v['seeds']} seeds = {runs}")
        err_console.print("runs per case: " + "; ".join(parts), soft_wrap=True, highlight=False)
        err_console.print(
            f"budget: {cal.n_runs} of at most {cal.budget.max_runs} runs, at most "
            f"{cal.budget.max_minutes:g} min per invocation (the estimate follows the first runs)",
            soft_wrap=True,
            highlight=False,
        )
        return
    if cal.kind == "screen":
        design = (
            f"Morris screen: {cal.screen.trajectories} trajectories x {len(cal.params) + 1} points"
        )
    else:
        src = (
            f"from wave {cal.previous.manifest['name']}'s non-implausible sample"
            if cal.previous is not None
            else "Latin hypercube"
        )
        design = f"wave: {cal.n_points} points ({src})"
    cases = ", ".join(f"{c} {n}" for c, n in cal.case_runs().items())
    err_console.print(
        f"calibrate [bold]{cal.calib_id}[/]: {design} x {cal.meta.seeds} seed(s) = "
        f"{cal.n_runs} runs over {len(cal.params)} parameters; runs per case: {cases}; "
        f"targets: {', '.join(t.name for t in cal.targets)}",
        soft_wrap=True,
        highlight=False,
    )
    err_console.print(
        f"budget: {cal.n_runs} of at most {cal.budget.max_runs} runs, at most "
        f"{cal.budget.max_minutes:g} min per invocation (the estimate follows the first runs)",
        soft_wrap=True,
        highlight=False,
    )


def _print_calibration_summary(cal: Any, prog: Any, runs: Any, out: Path, files: list) -> None:
    import json as _json

    t = Table(title=f"{cal.title} ({cal.calib_id})", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("runs this time", f"{prog.done} in {prog.seconds:.1f} s")
    if prog.skipped:
        t.add_row("already in the database", str(prog.skipped))
    failed = int((runs["status"] != "ok").sum())
    t.add_row("failed", str(failed) + (" (left out of the analysis)" if failed else ""))
    man = _json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    if cal.kind == "screen":
        chosen = man["screen"]["chosen"]
        t.add_row("chosen parameters", ", ".join(chosen) if chosen else "none")
    elif cal.kind == "check":
        s = man["check"]["sample"]
        t.add_row("sample", f"{s['path']} ({len(s['rows'])} of {s['vectors']} vectors drawn)")
    else:
        w = man["wave"]
        t.add_row(
            "non-implausible fraction",
            f"{w['nonimplausible_fraction']:.4g} ({w['accepted']} of {w['candidates']} "
            f"candidates; {w['kept']} kept for the next wave)",
        )
    t.add_row("results", str(out))
    out_console.print(t)
    for f in files:
        out_console.print(f"wrote {f}", markup=False, highlight=False)


@app.command("sweeps")
def sweeps_(
    db: Annotated[Path, typer.Option(help="Results database (DuckDB).")] = Path(
        "results/sweeps.duckdb"
    ),
) -> None:
    """List the sweeps in a results database with their progress."""
    import duckdb

    from defection.model.outputs import OUTCOMES
    from defection.sweep.errors import BadDatabase, SweepError
    from defection.sweep.store import Store

    try:
        with Store(db, read_only=True) as store:
            rows = store.sweeps()
    except BadDatabase as exc:
        _fail_input([f"--db: {exc}"])
    except duckdb.Error as exc:  # opened, but its tables do not read
        _fail_input([f"--db: {BadDatabase(db, str(exc))}"])
    except SweepError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if not rows:
        err_console.print(f"{db}: no sweeps yet")
        return
    # one block per sweep: the id in full on its own line (it is what `defection report` takes)
    for r in rows:
        ok = r["done"] - r["failed"]
        shares = (
            ", ".join(f"{o} {r[o] / ok:.0%}" for o in OUTCOMES) if ok else "no successful run yet"
        )
        state = "complete" if r["done"] == r["runs"] else "incomplete: rerun to resume"
        out_console.print(f"[bold]{r['sweep_id']}[/]", highlight=False)
        out_console.print(
            f"  {r['scenario']}, {r['design']} over {', '.join(r['parameters'])}; "
            f"created {str(r['created'])[:16]}\n"
            f"  {r['done']}/{r['runs']} runs ({state}), {r['failed']} failed; {shares}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@app.command()
def report(
    sweep_id: Annotated[str, typer.Argument(help="Sweep id (or a unique prefix of one).")],
    db: Annotated[Path, typer.Option(help="Results database (DuckDB).")] = Path(
        "results/sweeps.duckdb"
    ),
    out: Annotated[
        Path | None, typer.Option(help="Output folder [default: results/reports/<sweep id>].")
    ] = None,
    outcome: Annotated[
        str, typer.Option(help="Outcome the phase diagram and Sobol indices show.")
    ] = "collapse",
) -> None:
    """Plots (phase diagram, outcome shares, Sobol indices) and a Markdown summary of a sweep."""
    import duckdb

    from defection.model.outputs import OUTCOMES
    from defection.sweep.errors import BadDatabase, SweepError
    from defection.sweep.report import write_report
    from defection.sweep.store import Store

    if outcome not in OUTCOMES:
        _fail_input([f"--outcome {outcome!r}: must be one of {', '.join(OUTCOMES)}"])
    if out is not None and (problems := _output_problems(out, "--out", "folder")):
        _fail_input(problems)

    try:
        if out is None:  # the sweep id comes from the database: keep it under results/reports
            with Store(db, read_only=True) as store:
                sid = store.sweep(sweep_id)["sweep_id"]
            out = output_path(Path("results") / "reports", sid, what="sweep id")
            if problems := _output_problems(out, "report folder", "folder"):
                _fail_input(problems)
        files = write_report(sweep_id, db, out, outcome)
    except BadDatabase as exc:
        _fail_input([f"--db: {exc}"])
    except duckdb.Error as exc:  # opened, but its tables do not read
        _fail_input([f"--db: {BadDatabase(db, str(exc))}"])
    except SweepError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for f in files:
        out_console.print(f"wrote {f}", markup=False, highlight=False)


@app.command()
def ui(
    scenario: Annotated[
        str, typer.Argument(help="Scenario shown first: bundled name or path to a TOML file.")
    ] = "syria_2011",
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to bind (default: this machine only).")
    ] = "127.0.0.1",
) -> None:
    """Start the browser UI (Solara) and print its address; Ctrl-C stops it."""
    port = _bindable(host, port)  # first: the UI's imports take seconds
    from defection.model.scenario import ScenarioError
    from defection.model.scenario_names import picker_value

    try:
        first = picker_value(scenario)
    except ScenarioError as exc:
        _fail_input(exc.problems)
    env = dict(os.environ)
    env["DEFECTION_UI_SCENARIO"] = first
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home
    # Solara warns about iframe cookies on any host but "localhost", 127.0.0.1 included
    env.setdefault("PYTHONWARNINGS", "ignore:Cookies with samesite=none:UserWarning")
    shown = f"[{host}]" if ":" in host else host
    print(f"defection UI: http://{shown}:{port}/  (scenario {first}; Ctrl-C stops it)", flush=True)
    if _assets_missing():
        err_console.print(
            "warning: the UI's JavaScript is not in the local cache; the browser will fetch it "
            "from a public CDN (to work offline, install npm and run "
            "`.venv/bin/python scripts/solara_assets.py`)",
            markup=False,
            soft_wrap=True,
        )
    cmd = [sys.executable, "-m", "solara", "run", "defection.viz.app", "--production"]
    cmd += ["--host", host, "--port", str(port), "--no-open", "--log-level", "warning"]
    # replace this process with the server: a signal to this pid (Ctrl-C, terminate() from a test
    # or a script) reaches the server itself, and no server is left behind without its parent
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)


def _bindable(host: str, port: int) -> int:
    """Check that the UI can listen on ``host``:``port`` (exit 2 if not); a free port for 0."""
    import ipaddress
    import re
    import socket

    if not 0 <= port <= 65535:
        _fail_input([f"--port {port}: must be between 0 and 65535 (0: a free one)"])
    literal = host.strip("[]")
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        ip = None
        if re.fullmatch(r"[0-9.]+", host) or ":" in host:
            _fail_input([f"--host {host!r}: not an IP address (such as 127.0.0.1 or ::1)"])
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9-]{1,63})*", host):
            _fail_input([f"--host {host!r}: not an IP address or a host name"])
    try:
        if ip is not None:
            infos = [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, (literal, port))]
        else:
            infos = [
                (fam, addr[:2])
                for fam, *_, addr in socket.getaddrinfo(
                    host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
                )
            ]
        family, addr = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            s.bind(addr)
            return s.getsockname()[1]
    except OSError as exc:
        what = f"--host {host!r}" if port == 0 else f"--host {host!r} --port {port}"
        _fail_input([f"{what}: cannot listen there ({exc.strerror or exc})"])
    raise AssertionError  # unreachable: _fail_input exits


def _assets_missing() -> bool:
    """Whether Solara's local asset cache lacks a package it loads (see scripts/solara_assets)."""
    from pathlib import Path as _Path

    from solara.server import settings

    root = _Path(settings.assets.proxy_cache_dir)
    needed = ("@widgetti/solara-vuetify-app@", "requirejs@", "font-awesome@")
    found = [p.relative_to(root).as_posix() for p in root.glob("**/*@*") if p.is_dir()]
    return not all(any(f.startswith(n) for f in found) for n in needed)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
