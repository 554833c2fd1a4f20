"""`width-sweep`: run → fit → report, and bench.

    width-sweep run SPEC --out DIR [--dry-run] [--executor local|submitit] [--device D]
                    [--cluster C] [--partition P] [--gpus N] [--timeout-min M]
    width-sweep fit DIR [--format text|json] [--tolerance T] [--level L] [--boot B]
                    [--quantity Q ...] [--step T ...]
    width-sweep report DIR
    width-sweep bench [--spec SPEC] [--reference-runs K] [--batched-shards K] [--device D]
                      [--no-flops]

Error contract (gamma_calc.errors): bad input — a spec, a path, an option, a damaged file, a
device that is not there, a plan that does not fit in memory — is one line on stderr naming
the file, field and value, exit code 2; a bug is one line with exit code 1 (`--debug` shows
the traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from gamma_calc.errors import UsageParser, UserError, first_line, out_of_memory, run_cli

PROG = "width-sweep"
FIT_OPTIONS = {"tolerance": "--tolerance", "level": "--level", "n_boot": "--boot"}


def _parser() -> argparse.ArgumentParser:
    p = UsageParser(prog=PROG, description=(__doc__ or "").splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=UsageParser)
    r = sub.add_parser("run", help="train a sweep into DIR (resumes a killed one)")
    r.add_argument("spec")
    r.add_argument("--out", required=True)
    r.add_argument("--dry-run", action="store_true",
                   help="print the plan (runs, shards, peak memory, time, device); write nothing")
    r.add_argument("--executor", choices=["local", "submitit"], default="local")
    r.add_argument("--device", default=None, help="auto | cpu | cuda[:k] (default: the spec's)")
    r.add_argument("--cluster", default=None, choices=["slurm", "local", "debug"],
                   help="submitit cluster (default: slurm when available, else local)")
    r.add_argument("--partition", default=None)
    r.add_argument("--gpus", type=int, default=0, help="GPUs per node (submitit)")
    r.add_argument("--timeout-min", type=int, default=60)
    r.add_argument("--no-progress", action="store_true")
    f = sub.add_parser("fit", help="fit exponents with CIs, predictions and verdicts")
    f.add_argument("dir")
    f.add_argument("--format", choices=["text", "json"], default="text")
    f.add_argument("--tolerance", type=float)
    f.add_argument("--level", type=float)
    f.add_argument("--boot", type=int, dest="n_boot")
    f.add_argument("--quantity", action="append", help="only these quantities (repeatable)")
    f.add_argument("--step", action="append", type=int, help="only these steps (repeatable)")
    f.add_argument("--predictions", default=None,
                   help="JSON prediction rows instead of gamma_calc (see docs)")
    rp = sub.add_parser("report", help="markdown verdict table + log-log plots")
    rp.add_argument("dir")
    rp.add_argument("--predictions", default=None, help="JSON prediction rows (as for fit)")
    b = sub.add_parser("bench", help="batched engine vs per-run reference loop (JSON)")
    b.add_argument("--spec", default=None, help="default: the packaged fig2-bench.toml")
    b.add_argument("--reference-runs", type=int, default=2,
                   help="reference runs timed, spread over the grid, scaled (default 2)")
    b.add_argument("--device", default=None)
    b.add_argument("--batched-shards", type=int, default=1,
                   help="time the first K shards of the grid and scale (default 1; 0: all)")
    b.add_argument("--no-flops", action="store_true")
    return p


def _at_least(value: int, lo: int, option: str) -> None:
    if value < lo:
        raise UserError(f"option '{option}': {value} is not an integer >= {lo}")


def _cmd_run(a: argparse.Namespace) -> int:
    from .spec import load_spec
    _at_least(a.timeout_min, 1, "--timeout-min")
    _at_least(a.gpus, 0, "--gpus")
    spec = load_spec(a.spec)
    if a.dry_run:
        from .plan import calibrate, check, describe, make_plan
        pl = make_plan(spec, a.device, "option '--device'" if a.device is not None
                       else "spec field 'device'")
        check(pl)
        calibrate(pl)
        print(describe(pl, Path(a.out)))
        print("dry run: nothing written")
        return 0
    from .executor import SubmititOptions, run_sweep
    opts = SubmititOptions(cluster=a.cluster, partition=a.partition, gpus_per_node=a.gpus,
                           timeout_min=a.timeout_min)
    try:
        steps, runs = run_sweep(spec, a.out, executor=a.executor, device=a.device,
                                submitit_options=opts, progress=not a.no_progress,
                                device_label="option '--device'" if a.device is not None
                                else "spec field 'device'")
    except (MemoryError, RuntimeError) as exc:
        if not out_of_memory(exc):
            raise
        raise UserError(f"{a.out}: ran out of memory while training ({first_line(exc)[:120]}); "
                        "lower runs_per_shard or block_runs, or use dtype float32 (the plan "
                        "underestimated: see width-sweep run --dry-run)") from None
    n_div = int((runs.status == "diverged").sum())
    print(f"{len(runs)} runs ({n_div} diverged), {len(steps)} step rows -> {a.out}")
    return 0


def _json_value(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "-oo" if v < 0 else "oo"
    if hasattr(v, "item"):
        return _json_value(v.item())
    return v


def _valid(option: str, asked: list, have: list) -> None:
    bad = [x for x in asked if x not in have]
    if bad:
        shown = ", ".join(map(str, have[:40])) + (" ..." if len(have) > 40 else "")
        raise UserError(f"option '{option}': {bad[0]!r} is not in the fits (valid: {shown})")


def _select(df, a: argparse.Namespace):
    if a.quantity:
        _valid("--quantity", a.quantity, sorted(map(str, df.quantity.unique())))
        df = df[df.quantity.isin(a.quantity)]
    if a.step:
        _valid("--step", a.step, sorted(int(s) for s in df.step.unique()))
        df = df[df.step.isin(a.step)]
    return df


def _predict_fn(a: argparse.Namespace):
    from .predict import gamma_calc_predict, table_predict
    if not a.predictions:
        return gamma_calc_predict
    from . import files
    rows = files.read_json(Path(a.predictions), "a JSON list of prediction rows")
    if not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
        raise UserError(f"option '--predictions': {a.predictions}: not a JSON list of "
                        "prediction rows ({scheme, lr_exponent, quantity, step, predicted})")
    try:
        return table_predict(a.predictions)
    except ValueError as exc:
        raise UserError(f"option '--predictions': {a.predictions}: {exc}") from None


def _sweep_dir(d: str, overrides: dict[str, Any] | None = None) -> None:
    """A finished sweep directory whose spec.json and merged tables are readable, and whose
    [fit] table (with the command line's overrides) is valid."""
    from . import files, results
    from .validation import check_fit
    results.load(Path(d))                                 # directory and merged tables
    sp = Path(d) / "spec.json"
    spec = files.read_json(sp, "the sweep's spec (JSON)")
    if not isinstance(spec, dict):
        raise UserError(f"{sp}: not a JSON object")
    check_fit(spec.get("fit", {}), lambda k: f"{sp} field 'fit.{k}'")
    if overrides:
        check_fit({**spec.get("fit", {}), **overrides}, lambda k: f"option '{FIT_OPTIONS[k]}'"
                  if k in overrides else f"{sp} field 'fit.{k}'")


def _cmd_fit(a: argparse.Namespace) -> int:
    over = {k: v for k, v in (("tolerance", a.tolerance), ("level", a.level),
                              ("n_boot", a.n_boot)) if v is not None}
    _sweep_dir(a.dir, over)
    predict = _predict_fn(a)
    from .analyze import analyze
    from .report import fits_text
    res = analyze(a.dir, overrides=over, predict_fn=predict)
    if len(res.maxlr) and (a.quantity or a.step):
        raise UserError("options '--quantity', '--step': a max-lr sweep has one fit per "
                        "config, not per quantity and step")
    fits = res.maxlr if len(res.maxlr) else _select(res.fits, a)
    if a.format == "json":
        rows = [{k: _json_value(v) for k, v in row.items()}
                for row in fits.astype(object).to_dict("records")]
        print(json.dumps(rows, indent=1))
    else:
        print(fits_text(fits, res.theorem1, res.options, res.notes, res.runs))
    return 0


def _cmd_report(a: argparse.Namespace) -> int:
    _sweep_dir(a.dir)
    predict = _predict_fn(a)
    from .report import write_report, written_summary
    path = write_report(a.dir, predict_fn=predict)
    print(f"report -> {path}\n{written_summary(a.dir)}")
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    _at_least(a.reference_runs, 1, "--reference-runs")
    _at_least(a.batched_shards, 0, "--batched-shards")
    from .bench import bench
    print(json.dumps(bench(a.spec, reference_runs=a.reference_runs, device=a.device,
                           count_flops=not a.no_flops, batched_shards=a.batched_shards),
                     indent=1))
    return 0


def _main(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    return {"run": _cmd_run, "fit": _cmd_fit, "report": _cmd_report,
            "bench": _cmd_bench}[a.cmd](a)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors of the packages below that are the user's (a damaged or missing data file)."""
    from toy_models.data.errors import DataError
    return (DataError,)


def main(argv: list[str] | None = None) -> int:
    return run_cli(PROG, _main, argv, user_errors=_user_errors())


if __name__ == "__main__":
    sys.exit(main())
