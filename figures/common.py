"""What every figure script shares: the run context, claims (verdict rows), sweeps, saving.

Data flows one way (DESIGN): spec → `width_sweeps` runs → tidy tables → fits → verdicts →
`Claim` rows + images.  A figure script is `run(ctx) -> FigureResult`; `figures.demo` calls
each one and `figures.report` turns the results into `report/index.md`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np


def _checkout() -> Path | None:
    """The source checkout `figures/` lives in (an editable install), or None when it is an
    installed package (site-packages has no pyproject.toml beside it)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


# A checkout: reports, sweeps and the committed full-mode images live in the repository.
# An installed package: defaults go under the working directory, full-mode images under --out
# only, and FIGURES_DIR is the package itself (its verdicts_full.json ships as package data).
CHECKOUT = _checkout()
ROOT = CHECKOUT or Path.cwd()
FIGURES_DIR = CHECKOUT / "figures" if CHECKOUT else Path(__file__).resolve().parent
MODES = ("quick", "full")


@dataclass(frozen=True)
class Context:
    """Where a figure script runs and writes.

    mode: "quick" (CPU minutes, small widths) or "full" (the papers' sizes; GPU-sized).
    out_dirs: where the PNG (and PDF) go; runs_dir: root of the sweep output directories.
    """
    mode: str = "quick"
    out_dirs: tuple[Path, ...] = (ROOT / "report",)
    runs_dir: Path = ROOT / "report" / "runs"
    device: str = "auto"
    progress: bool = False

    @property
    def quick(self) -> bool:
        return self.mode == "quick"


@dataclass
class Claim:
    """One row of the verdict table: a paper's claim, our prediction and measurement.

    figure: the script's name; claim: the claim in words; source: the paper by its short name
    and place ("Beyond Zero Init (Eq. 6)", "LoRAM (Prop. 2)"; docs/theory.md §10); prediction,
    measured, interval: text for the table; verdict: one of width_sweeps.verdict.ALL (pass |
    fail | inconclusive | diverged | error | n/a), decided by width_sweeps.verdict;
    note: the reason or a detail; id: a stable slug, unique in the report (:func:`claim_id`);
    model: a gamma_calc.vocab.MODELS key ("theory-layer", "toy", "toy-init", "mlp5", …);
    ci_low, ci_high: the numeric interval of the judged statistic (None when the claim has no
    single one, e.g. several exponents or an exact computation)."""
    figure: str
    claim: str
    source: str
    prediction: str
    measured: str
    interval: str = ""
    verdict: str = "n/a"
    note: str = ""
    id: str = ""
    model: str = ""
    ci_low: float | None = None
    ci_high: float | None = None

    def record(self, mode: str, device: str) -> dict[str, Any]:
        """The object `report/verdicts.json` holds for this claim."""
        def num(v: float | None) -> float | str | None:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                return None
            return "-oo" if v == -np.inf else "oo" if v == np.inf else float(v)
        return {"id": self.id or claim_id(self.figure, self.claim), "figure": self.figure,
                "model": self.model, "claim": self.claim, "source": self.source,
                "prediction": self.prediction, "measured": self.measured,
                "ci_low": num(self.ci_low), "ci_high": num(self.ci_high),
                "verdict": self.verdict, "note": self.note, "mode": mode, "device": device}


def claim_id(figure: str, *parts: object) -> str:
    """A stable slug: `figure/part-part` from short parts, e.g.
    claim_id("coord_check", "theory", "A", "-1/2") → "coord_check/theory-a-c-1-2"."""
    import re
    text = "-".join(str(p) for p in parts)
    text = text.replace("/", "-").replace("−", "-")
    slug = re.sub(r"[^a-z0-9+]+", "-", text.lower()).strip("-")
    return f"{figure}/{slug}" if slug else figure


@dataclass
class FigureResult:
    """What a figure script hands to the report."""
    name: str
    title: str
    tests: str                    # one sentence: what the figure tests
    claims: list[Claim] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    config: str = ""
    device: str = ""
    seconds: float = 0.0
    details: str = ""             # markdown shown under the figure (tables)
    rule: str = ""                # how the verdicts are decided


# ---- labels --------------------------------------------------------------------------------

def torch_device(name: str = "auto"):
    """The torch device of a context (`auto`: CUDA when present)."""
    from width_sweeps.models import pick_device
    return pick_device(name)


def device_label(name: str = "auto") -> str:
    """Human-readable device, e.g. 'cpu (2 cores)' or 'cuda (NVIDIA H100 80GB HBM3)'."""
    import torch
    dev = torch_device(name)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def git_revision() -> str:
    """The checkout's short git revision; an installed package's version."""
    if CHECKOUT is None:
        from importlib import metadata
        try:
            return "v" + metadata.version("gammakit")
        except metadata.PackageNotFoundError:
            return "unknown"
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=CHECKOUT, text=True,
                             capture_output=True, timeout=10, check=False).stdout.strip()
        return out or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def footer(script: str, ctx: Context, config: str) -> str:
    """The provenance line printed on every image."""
    return (f"figures/{script}.py · {ctx.mode} mode · {config} · device {device_label(ctx.device)}"
            f" · gammakit {git_revision()} · {date.today().isoformat()}")


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """torch on one intra-op thread (restored after): for one-at-a-time reference runs of small
    matrices, where a second thread only adds synchronisation (and, on a shared CPU, waits)."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


# ---- formatting ----------------------------------------------------------------------------

def fmt_exp(e: Any) -> str:
    """An exponent for tables: exact strings kept ('-1/2'), floats as +0.123, -inf as -oo."""
    if e is None or (isinstance(e, float) and np.isnan(e)):
        return "—"
    if isinstance(e, str):
        return e
    if e == -np.inf:
        return "-oo"
    return f"{e:+.3f}"


def fmt_ci(lo: float, hi: float, digits: int = 3) -> str:
    if lo == -np.inf and hi == -np.inf:
        return "exactly 0 (−∞)"
    return f"[{lo:+.{digits}f}, {hi:+.{digits}f}]"


def frac(e: str) -> float:
    return -np.inf if e == "-oo" else float(Fraction(e))


def pow2(n: int) -> str:
    """512 → '2^9' when n is a power of two, else the number."""
    k = int(np.log2(n))
    return f"2^{k}" if 2 ** k == n else str(n)


def width_range(widths) -> str:
    w = sorted(widths)
    return f"n = {pow2(w[0])}…{pow2(w[-1])} ({len(w)} widths)"


# ---- claims from fits ----------------------------------------------------------------------

def rule_text(tolerance: float = 0.05) -> str:
    """The verdict rule for fitted exponents at this tolerance (width_sweeps.verdict.Rule)."""
    from width_sweeps.verdict import Rule
    return Rule(tolerance=tolerance).text()


def combine(verdicts: list[str]) -> str:
    """One verdict from a claim's parts (width_sweeps.verdict.combine)."""
    from width_sweeps.verdict import combine as _combine
    return _combine(verdicts)


def claim_from_fits(fits, *, figure: str, claim: str, source: str,
                    quantities: list[str], labels: dict[str, str] | None = None,
                    id: str = "", model: str = "") -> Claim:
    """One aggregated row from width_sweeps fits rows (one per quantity, already selected and
    judged by the verdict rule): prediction and measurement list every quantity; the verdict
    combines the parts (width_sweeps.verdict.combine).  A missing quantity is an inconclusive
    part, never dropped; the note gives the counts and the first reason that is not a pass."""
    labels = labels or {}
    rows = {r.quantity: r for r in fits.itertuples(index=False)}
    preds, meas, cis, verdicts, why = [], [], [], [], []
    lost: set[str] = set()
    for q in quantities:
        name = labels.get(q, q)
        if q not in rows:
            preds.append(f"{name} ?")
            meas.append(f"{name} missing")
            verdicts.append("inconclusive")
            why.append(f"{name}: not measured")
            continue
        r = rows[q]
        preds.append(f"{name} {fmt_exp(r.predicted)}")
        meas.append(f"{name} {fmt_exp(r.fitted)}")
        cis.append(f"{name} {fmt_ci(r.ci_low, r.ci_high, 2)}")
        verdicts.append(str(r.verdict))
        if r.verdict != "pass" and getattr(r, "reason", ""):
            why.append(f"{name}: {r.reason}")
        dropped = getattr(r, "widths_dropped", "")
        if isinstance(dropped, str) and dropped:
            lost.add(dropped)
    counts = ", ".join(f"{sum(v == k for v in verdicts)} {k}" for k in
                       ("pass", "fail", "inconclusive", "diverged", "n/a")
                       if any(v == k for v in verdicts))
    one = rows.get(quantities[0]) if len(quantities) == 1 else None
    note = counts + (f" — {why[0]}" if why else "")
    if lost:
        note += f"; widths dropped: {' | '.join(sorted(lost))}"
    return Claim(figure, claim, source, "; ".join(preds), "; ".join(meas), "; ".join(cis),
                 combine(verdicts), note,
                 id or claim_id(figure, claim), model,
                 float(one.ci_low) if one is not None else None,
                 float(one.ci_high) if one is not None else None)


# ---- sweeps --------------------------------------------------------------------------------

def toy_pretrain_steps() -> int:
    """The toy's default pretraining length (`toy_models.toy.ToyModel.pretrain_steps`)."""
    from toy_models.toy import ToyModel
    return ToyModel.pretrain_steps


def toy_options(pretrain_steps: int, n_test: int | None) -> dict[str, int]:
    """The toy's `model_options` that differ from its defaults (its pretraining length, the
    whole 10k-image test set)."""
    opts = {"pretrain_steps": pretrain_steps} if pretrain_steps != toy_pretrain_steps() else {}
    return opts | ({"n_test": n_test} if n_test else {})


def toy_label(width: int, pretrain_steps: int, n_test: int | None, grid: str) -> str:
    """One line for a rank-32 Adam fine-tuning sweep of the toy: its setup, `grid`, test set."""
    pre = "" if pretrain_steps == toy_pretrain_steps() else f", pretrained {pretrain_steps} steps"
    test = f"test[:{n_test}]" if n_test else "10k test images"
    return f"toy n = {width}, r = 32{pre}, Adam, 100 steps, batch 64, {grid}, {test}"


def sweep(spec_dict: dict[str, Any], ctx: Context, name: str) -> Path:
    """Run (or resume) a width sweep into `ctx.runs_dir/name`; returns the directory.

    A directory left by a different spec (the figure's configuration changed) is replaced."""
    from width_sweeps.executor import run_sweep
    from width_sweeps.spec import SpecError, from_dict
    spec = from_dict({"device": ctx.device, **spec_dict})
    out = Path(ctx.runs_dir) / name
    try:
        run_sweep(spec, out, progress=ctx.progress)
    except SpecError as exc:
        if "differs from the sweep already" not in str(exc):
            raise
        shutil.rmtree(out)
        run_sweep(spec, out, progress=ctx.progress)
    return out


# ---- saving --------------------------------------------------------------------------------

MAX_PNG_BYTES = 500_000


def save(fig, name: str, ctx: Context, *, dpi: int = 110) -> Path:
    """Write `name.png` into every output directory; returns the first PNG.

    Full mode also writes `name.pdf` (vector, for papers) and, in a source checkout, the
    committed PNG next to the scripts (figures/); quick mode (CI, `make demo`) skips the PDF,
    which doubles the time of a save of the many-panel figures."""
    dirs = list(ctx.out_dirs)
    if ctx.mode == "full" and CHECKOUT is not None and FIGURES_DIR not in dirs:
        dirs.append(FIGURES_DIR)
    first: Path | None = None
    for d in dirs:
        d = Path(d)
        d.mkdir(parents=True, exist_ok=True)
        png = d / f"{name}.png"
        fig.savefig(png, dpi=dpi)
        if ctx.mode == "full":
            fig.savefig(d / f"{name}.pdf")
        if png.stat().st_size > MAX_PNG_BYTES:   # keep committed images small
            fig.savefig(png, dpi=int(dpi * 0.75))
        first = first or png
    assert first is not None
    return first


# ---- the command line of every figure script ----------------------------------------------

def main(run: Callable[[Context], FigureResult], argv: list[str] | None = None) -> int:
    """`python -m figures.<name> [--quick] [--out DIR] [--runs DIR] [--device D]`."""
    p = argparse.ArgumentParser(description=(run.__module__ or "").rsplit(".", 1)[-1])
    p.add_argument("--quick", action="store_true", help="the quick (CPU minutes) configuration")
    p.add_argument("--out", default=None,
                   help="where images go (default: report/ when --quick or installed, figures/ "
                        "of the checkout in full mode)")
    p.add_argument("--runs", default=None, help="sweep directories (default: runs/figures/MODE)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:k]")
    p.add_argument("--progress", action="store_true")
    a = p.parse_args(argv)
    mode = "quick" if a.quick else "full"
    out = Path(a.out) if a.out else (FIGURES_DIR if mode == "full" and CHECKOUT else
                                     ROOT / "report")
    runs = Path(a.runs) if a.runs else ROOT / "runs" / "figures" / mode
    ctx = Context(mode, (out,), runs, a.device, a.progress)
    t0 = time.perf_counter()
    res = run(ctx)
    res.seconds = res.seconds or time.perf_counter() - t0
    from .report import claims_table
    print(claims_table(res.claims))
    for img in res.images:
        print(f"wrote {img}")
    print(f"{res.name}: {res.seconds:.0f} s on {res.device}")
    return 0
