"""`report/index.md`: the verdict rule, the verdict table (one row per claim), then every
figure; and `report/verdicts.json`, the same verdicts for machines (one object per claim:
`Claim.record`).

The report builder knows only `FigureResult`s and `Claim`s; a figure that raised becomes a
failure row (`failure_result`), so one broken figure never loses the others' results.
"""
from __future__ import annotations

import json
import os
import traceback
from datetime import datetime
from pathlib import Path

from width_sweeps.verdict import ALL, Rule

from .common import Claim, FigureResult, claim_id

COLUMNS = ("#", "figure", "claim", "source", "prediction", "measured", "95% interval",
           "verdict")
MARK = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive",
        "error": "💥 error", "diverged": "💥 diverged", "n/a": "n/a"}
VERDICTS = ALL
RECORD_KEYS = ("id", "figure", "model", "claim", "source", "prediction", "measured", "ci_low",
               "ci_high", "verdict", "note", "mode", "device")


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
    claim = Claim(name, f"{title}: the figure script failed", "—", "—", err, "", "error",
                  id=claim_id(name, "script"))
    return FigureResult(name, title, "(failed)", [claim], [], seconds=seconds,
                        details=f"**The script failed:** `{err}`")


def summary(claims: list[Claim]) -> str:
    counts = {k: sum(c.verdict == k for c in claims) for k in VERDICTS}
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v or k in ("pass", "fail"))


def records(results: list[FigureResult], mode: str, device: str) -> list[dict]:
    """The `verdicts.json` list; ids made unique (a repeated id gets `-2`, `-3`, …)."""
    out: list[dict] = []
    seen: dict[str, int] = {}
    for r in results:
        for c in r.claims:
            rec = c.record(mode, r.device or device)
            k = rec["id"]
            seen[k] = seen.get(k, 0) + 1
            if seen[k] > 1:
                rec["id"] = f"{k}-{seen[k]}"
            out.append(rec)
    return out


def write_verdicts(results: list[FigureResult], out: Path, *, mode: str, device: str) -> Path:
    """`out/verdicts.json`: one object per claim (RECORD_KEYS)."""
    path = Path(out) / "verdicts.json"
    path.write_text(json.dumps(records(results, mode, device), indent=1, ensure_ascii=False)
                    + "\n", encoding="utf-8")
    return path


GENERAL_RULE = ("Every verdict comes from one rule (`width_sweeps.verdict.decide`, "
                "docs/theory.md §9.6): an interval for the claimed statistic against the region "
                "the claim gives it — **fail** when the interval misses the region, **pass** when "
                "it lies inside it (for an exponent: meets the tolerance band and is narrow "
                "enough), **inconclusive** when the data cannot decide (too few widths or seeds, "
                "an interval too wide, a grid too coarse to separate two values). *diverged* and "
                "*error* are statuses: every run diverged, or the script failed. For fitted "
                "exponents: ")


def write_report(results: list[FigureResult], out: Path, *, mode: str, device: str,
                 revision: str, seconds: float) -> Path:
    """Write `out/index.md` and `out/verdicts.json` (images are already in `out`); returns
    the path of index.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    claims = [c for r in results for c in r.claims]
    write_verdicts(results, out, mode=mode, device=device)
    md = ["# gammakit verification report", "",
          (f"Mode **{mode}** on {device}, gammakit {revision}, "
           f"{datetime.now().strftime('%Y-%m-%d %H:%M')}, {seconds:.0f} s in all. "
           f"Verdicts: **{summary(claims)}** (also in `verdicts.json`)."), "",
          ("Each row is one claim of the papers (docs/theory.md §6), the exponent or effect "
           "the theory predicts (`gamma_calc` where it applies), what we measured, a 95 % "
           "interval, and the verdict."), "",
          GENERAL_RULE + Rule().text(), "", claims_table(claims), ""]
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


# ---- quick against full --------------------------------------------------------------------

def quick_vs_full(quick: list[dict], full: list[dict]) -> tuple[str, list[str]]:
    """Markdown table (claim id, quick verdict, full verdict) and the ids that break the
    promise "no claim that passes in full mode fails in quick mode"."""
    fv = {r["id"]: r for r in full}
    qv = {r["id"]: r for r in quick}
    ids = list(qv) + [i for i in fv if i not in qv]
    rows = ["| claim id | figure | model | quick | full |", "|---|---|---|---|---|"]
    broken = []
    for i in ids:
        q, f = qv.get(i, {}), fv.get(i, {})
        qv_, fv_ = q.get("verdict", "—"), f.get("verdict", "—")
        if fv_ == "pass" and qv_ == "fail":
            broken.append(i)
        rows.append(f"| `{i}` | {q.get('figure') or f.get('figure', '')} | "
                    f"{q.get('model') or f.get('model', '')} | {MARK.get(qv_, qv_)} | "
                    f"{MARK.get(fv_, fv_)} |")

    def count(recs: dict) -> str:
        return ", ".join(f"{sum(r['verdict'] == k for r in recs.values())} {k}" for k in ALL
                         if any(r["verdict"] == k for r in recs.values()))
    head = [f"Quick: {count(qv)}. Full: {count(fv)}.",
            ("No claim that passes in full mode fails in quick mode." if not broken else
             f"**{len(broken)} claims pass in full mode but fail in quick mode:** "
             + ", ".join(f"`{b}`" for b in broken)), ""]
    return "\n".join(head + rows) + "\n", broken


def write_quick_vs_full(quick_json: Path, full_json: Path, out: Path) -> list[str]:
    """`out` (markdown) from two verdicts.json files; returns the broken ids."""
    quick = json.loads(Path(quick_json).read_text(encoding="utf-8"))
    full = json.loads(Path(full_json).read_text(encoding="utf-8"))
    text, broken = quick_vs_full(quick, full)
    Path(out).write_text("# Quick-mode against full-mode verdicts\n\n" + text,
                         encoding="utf-8")
    return broken
