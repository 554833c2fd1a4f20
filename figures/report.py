"""`report/index.md`: the verdict table (one row per claim), then every figure.

The report builder knows only `FigureResult`s and `Claim`s; a figure that raised becomes a
failure row (`failure_result`), so one broken figure never loses the others' results.
"""
from __future__ import annotations

import os
import traceback
from datetime import datetime
from pathlib import Path

from .common import Claim, FigureResult

COLUMNS = ("#", "figure", "claim", "source", "prediction", "measured", "95% interval",
           "verdict")
MARK = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive",
        "error": "💥 error", "n/a": "n/a"}
VERDICTS = ("pass", "fail", "inconclusive", "error", "n/a")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("; ", "<br>")


def claims_table(claims: list[Claim]) -> str:
    """The verdict table as markdown (one row per claim)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for i, c in enumerate(claims, 1):
        verdict = MARK.get(c.verdict, c.verdict) + (f" ({c.note})" if c.note else "")
        cells = [str(i), c.figure, c.claim, c.source, c.prediction, c.measured, c.interval,
                 verdict]
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(lines)


def one_line_error(exc: BaseException) -> str:
    """`Type: message` on one line, with where it was raised."""
    msg = " ".join(str(exc).split()) or "(no message)"
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" [{Path(tb[-1].filename).name}:{tb[-1].lineno}]" if tb else ""
    return f"{type(exc).__name__}: {msg[:300]}{where}"


def failure_result(name: str, title: str, exc: BaseException, seconds: float = 0.0) -> FigureResult:
    """A figure that raised: one `error` row carrying the one-line error."""
    err = one_line_error(exc)
    claim = Claim(name, f"{title}: the figure script failed", "—", "—", err, "", "error")
    return FigureResult(name, title, "(failed)", [claim], [], seconds=seconds,
                        details=f"**The script failed:** `{err}`")


def summary(claims: list[Claim]) -> str:
    counts = {k: sum(c.verdict == k for c in claims) for k in VERDICTS}
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v or k in ("pass", "fail"))


def write_report(results: list[FigureResult], out: Path, *, mode: str, device: str,
                 revision: str, seconds: float) -> Path:
    """Write `out/index.md` (images are already in `out`); returns its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    claims = [c for r in results for c in r.claims]
    md = ["# gammakit verification report", "",
          (f"Mode **{mode}** on {device}, gammakit {revision}, "
           f"{datetime.now().strftime('%Y-%m-%d %H:%M')}, {seconds:.0f} s in all. "
           f"Verdicts: **{summary(claims)}**."), "",
          ("Each row is one claim of the papers (THEORY.md), the exponent or effect the theory "
           "predicts (`gamma_calc` where it applies), what we measured, a 95 % bootstrap "
           "interval over seeds, and the verdict (the rule is in each figure's section below)."),
          "", claims_table(claims), ""]
    for r in results:
        md += [f"## {r.title}", "", f"*{r.tests}*", ""]
        if r.rule:
            md += [f"Verdict rule: {r.rule}", ""]
        if r.config or r.device:
            md += [f"Configuration: {r.config} — device: {r.device} — {r.seconds:.0f} s.", ""]
        for img in r.images:
            rel = os.path.relpath(img, out)
            md += [f"![{r.name}]({rel})", ""]
        if r.details:
            md += [r.details, ""]
    path = out / "index.md"
    path.write_text("\n".join(md) + "\n")
    return path
