"""`make demo`: run every figure script (quick or full) and write `report/index.md`.

    python -m figures.demo [--mode quick|full] [--out report] [--device auto] [--only NAME ...]

One row per claim in the verdict table, then the figures; `verdicts.json` beside it.  A figure
that raises becomes one `error` row with its one-line error; the others still run.  Exit status
1 when a figure errored (CI catches a broken job), 0 otherwise — failed *claims* are results,
not errors.  Full mode also keeps its verdicts as `figures/verdicts_full.json` (committed with
the full-run images); quick mode then writes `quick_vs_full.md`: per claim id, the quick and
the full verdict, and any claim that passes in full mode but fails in quick mode.
"""
from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import time
from pathlib import Path

from . import common, report

# (module, title used if it fails before producing its own)
FIGURES = (
    ("coord_check", "Coordinate check with verdicts"),
    ("theorem1", "Theorem 1: robustness to smaller rates"),
    ("maxlr", "Largest stable rate against width"),
    ("beyond_zero_fig2", "Beyond Zero Init Figure 2"),
    ("blog_inits", "The A×0 ≠ 0×B blog's init sweep on our toy"),
    ("loram_fig2", "LoRAM Figure 2"),
    ("spectral_gain", "Spectral gain"),
    ("inilora_claims", "IniLoRA's claims on the toy"),
    ("loram_claims", "LoRAM's claims on the toy"),
    ("mup_pretraining", "μP pretraining of the toy: premise and rate transfer"),
    ("toy_mup_checks", "Width checks on the μP-pretrained toy"),
    ("transformer_coord", "Coordinate check inside a transformer"),
)


def run_all(ctx: common.Context, names: list[str] | None = None) -> list[common.FigureResult]:
    """Run the figure scripts in order; never lose results to one failing figure."""
    results = []
    todo = [f for f in FIGURES if not names or f[0] in names]
    for i, (name, title) in enumerate(todo, 1):
        t0 = time.perf_counter()
        print(f"[{i}/{len(todo)}] {name} …", flush=True)
        try:
            mod = importlib.import_module(f"figures.{name}")
            res = mod.run(ctx)
        except Exception as exc:  # noqa: BLE001  (recorded as a failure row)
            res = report.failure_result(name, title, exc, time.perf_counter() - t0)
        res.seconds = res.seconds or time.perf_counter() - t0
        print(f"      {res.seconds:5.0f} s  {report.summary(res.claims)}"
              + (f"  — {res.claims[0].measured}" if res.claims and
                 res.claims[0].verdict == "error" else ""), flush=True)
        results.append(res)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m figures.demo", description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=common.MODES, default="quick")
    p.add_argument("--out", default=str(common.ROOT / "report"))
    p.add_argument("--device", default="auto", help="auto (CUDA when present) | cpu | cuda[:k]")
    p.add_argument("--only", nargs="*", choices=[f[0] for f in FIGURES], default=None)
    p.add_argument("--fresh", action="store_true", help="delete OUT (and its sweeps) first")
    a = p.parse_args(argv)
    out = Path(a.out).resolve()
    if a.fresh and out.exists():
        shutil.rmtree(out)
    runs = out / "runs" if a.mode == "quick" else common.ROOT / "runs" / "figures" / "full"
    ctx = common.Context(a.mode, (out,), runs, a.device, progress=False)
    device = common.device_label(a.device)
    print(f"gammakit demo ({a.mode} mode) on {device}; sweeps in {runs}", flush=True)
    t0 = time.perf_counter()
    results = run_all(ctx, a.only)
    seconds = time.perf_counter() - t0
    path = report.write_report(results, out, mode=a.mode, device=device,
                               revision=common.git_revision(), seconds=seconds)
    claims = [c for r in results for c in r.claims]
    print(f"\nverdicts: {report.summary(claims)} ({seconds:.0f} s)")
    print(f"report: {path}")
    full_json = common.FIGURES_DIR / "verdicts_full.json"
    if a.mode == "full" and not a.only and common.CHECKOUT is not None:
        shutil.copyfile(out / "verdicts.json", full_json)   # a checkout keeps the full verdicts
    elif a.mode == "quick" and full_json.exists():
        broken = report.write_quick_vs_full(out / "verdicts.json", full_json,
                                            out / "quick_vs_full.md")
        print(f"quick vs full: {out / 'quick_vs_full.md'}"
              + (f" — {len(broken)} claims pass in full but fail in quick" if broken else ""))
    return 1 if any(c.verdict == "error" for c in claims) else 0


if __name__ == "__main__":
    sys.exit(main())
