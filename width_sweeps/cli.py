"""`width-sweep`: run → fit → report, and bench (issue 4 §7).

    width-sweep run SPEC --out DIR [--executor local|submitit] [--device D] [--cluster C]
                    [--partition P] [--gpus N] [--timeout-min M]
    width-sweep fit DIR [--format text|json] [--tolerance T] [--level L] [--boot B]
                    [--quantity Q ...] [--step T ...]
    width-sweep report DIR
    width-sweep bench [--spec SPEC] [--reference-runs K] [--batched-shards K] [--device D]
                      [--no-flops]

Bad input (a spec, a path, an option) prints one line on stderr and exits 2; no traceback
(set WIDTH_SWEEP_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from .spec import SpecError

USER_ERRORS = (SpecError, FileNotFoundError, NotADirectoryError, KeyError, ValueError,
               ImportError)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise SpecError(f"usage: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="width-sweep", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="train a sweep into DIR (resumes a killed one)")
    r.add_argument("spec")
    r.add_argument("--out", required=True)
    r.add_argument("--executor", choices=["local", "submitit"], default="local")
    r.add_argument("--device", default=None, help="auto | cpu | cuda[:k] (default: the spec's)")
    r.add_argument("--cluster", default=None, help="submitit cluster: slurm | local | debug")
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


def _cmd_run(a: argparse.Namespace) -> int:
    from .executor import SubmititOptions, run_sweep
    from .spec import load_spec
    spec = load_spec(a.spec)
    opts = SubmititOptions(cluster=a.cluster, partition=a.partition, gpus_per_node=a.gpus,
                           timeout_min=a.timeout_min)
    steps, runs = run_sweep(spec, a.out, executor=a.executor, device=a.device,
                            submitit_options=opts, progress=not a.no_progress)
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


def _select(df, a: argparse.Namespace):
    if a.quantity:
        df = df[df.quantity.isin(a.quantity)]
    if a.step:
        df = df[df.step.isin(a.step)]
    return df


def _predict_fn(a: argparse.Namespace):
    from .predict import gamma_calc_predict, table_predict
    return table_predict(a.predictions) if a.predictions else gamma_calc_predict


def _cmd_fit(a: argparse.Namespace) -> int:
    from .analyze import analyze
    from .report import fits_text
    over = {k: v for k, v in (("tolerance", a.tolerance), ("level", a.level),
                              ("n_boot", a.n_boot)) if v is not None}
    res = analyze(a.dir, overrides=over, predict_fn=_predict_fn(a))
    fits = res.maxlr if len(res.maxlr) else _select(res.fits, a)
    if a.format == "json":
        rows = [{k: _json_value(v) for k, v in row.items()}
                for row in fits.astype(object).to_dict("records")]
        print(json.dumps(rows, indent=1))
    else:
        print(fits_text(fits, res.theorem1, res.options, res.notes, res.runs))
    return 0


def _cmd_report(a: argparse.Namespace) -> int:
    from .report import write_report, written_summary
    path = write_report(a.dir, predict_fn=_predict_fn(a))
    print(f"report -> {path}\n{written_summary(a.dir)}")
    return 0


def _cmd_bench(a: argparse.Namespace) -> int:
    from .bench import bench
    print(json.dumps(bench(a.spec, reference_runs=a.reference_runs, device=a.device,
                           count_flops=not a.no_flops, batched_shards=a.batched_shards),
                     indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        a = _parser().parse_args(argv)
        return {"run": _cmd_run, "fit": _cmd_fit, "report": _cmd_report,
                "bench": _cmd_bench}[a.cmd](a)
    except SystemExit as exc:            # --help
        return int(exc.code or 0)
    except USER_ERRORS as exc:
        if os.environ.get("WIDTH_SWEEP_DEBUG"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"width-sweep: error: {msg}", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("WIDTH_SWEEP_DEBUG"):
            raise
        print(f"width-sweep: internal error: {type(exc).__name__}: "
              f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
