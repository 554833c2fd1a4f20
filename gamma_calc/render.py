"""Text, JSON and LaTeX renderings of gamma_calc results (used by the CLI)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .check import CheckResult
from .claims import Claim
from .conditions import DEFAULT_FROM
from .display import pretty_constraints, pretty_regions
from .exponent import Exponent
from .feasible import FeasibleSet, MaxLR
from .lora import QUANTITIES
from .mlp import MLPResult
from .polyhedron import Region
from .vocab import CORE

SHOWN = CORE
TEX_NAMES = {"Z_A": "Z_A", "dZ_A": r"\Delta Z_A", "Z_B": "Z_B", "delta1": r"\delta^1",
             "delta2": r"\delta^2", "delta3": r"\delta^3", "A": "A", "B": "B"}


def _s(e: Exponent | None) -> str | None:
    return None if e is None else str(e)


def _yn(b: bool) -> str:
    return "yes" if b else "no"


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


# -- check --------------------------------------------------------------------------------
def check_json(r: CheckResult, label: str) -> dict:
    m = r.model
    return {
        "optimizer": m.optimizer, "init": label,
        "A_0": {"entry": str(m.A0.entry), "kind": m.A0.kind, "paper": str(r.paper["A_0"])},
        "B_0": {"entry": str(m.B0.entry), "kind": m.B0.kind, "paper": str(r.paper["B_0"])},
        "lr": {"A": str(m.lr_A), "B": str(m.lr_B)}, "eps": str(Exponent.const(r.eps)),
        "steps": r.trajectory.steps, "from_step": r.from_step,
        "stable": r.stable, "efficient": r.efficient,
        "internally_stable": r.internally_stable, "robust": r.robust,
        "exponents": {q: _s(r.last[q]) for q in SHOWN},
        "trajectory": {q: [_s(e) for e in r.trajectory.values[q]] for q in QUANTITIES},
        "degradation": {q: None if v is None else str(Exponent.const(v))
                        for q, v in r.degradation.items()},
        "notes": r.notes,
    }


def check_text(r: CheckResult, label: str) -> str:
    d = check_json(r, label)
    lines = [(f"{d['optimizer']}, init {label}: A_0 {r.model.A0} "
              f"(paper γ[A_0] = {d['A_0']['paper']}), B_0 {r.model.B0}"),
             f"rates γ[η_A] = {d['lr']['A']}, γ[η_B] = {d['lr']['B']}"
             + (f", lowered by eps = {d['eps']}" if r.eps else ""),
             "", " t  " + "".join(f"{q:>9}" for q in QUANTITIES)]
    for t in range(r.trajectory.steps + 1):
        cells = [d["trajectory"][q][t] for q in QUANTITIES]
        lines.append(f"{t:>2}  " + "".join(f"{c if c is not None else '.':>9}" for c in cells))
    lines += ["", (f"stable: {_yn(r.stable)}   efficient: {_yn(r.efficient)}   "
              f"internally stable: {_yn(r.internally_stable)}   robust: {_yn(r.robust)}"),
              (f"under rates c - ε: {_degradation(d['degradation'])}   "
               f"({_window_text(r.from_step, r.trajectory.steps)})")]
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)


def _degradation(deg: dict[str, str | None]) -> str:
    """``γ[δ¹] ~ -1·ε`` per δ, or that it is exactly zero (``None``: ``δ ≡ 0``)."""
    names = {"delta1": "δ¹", "delta2": "δ²"}
    return ", ".join(f"{names[q]} = 0 exactly" if v is None else f"γ[{names[q]}] ~ {v}·ε"
                     for q, v in deg.items())


def _window_text(first: int, last: int) -> str:
    settled = "settled" if first >= DEFAULT_FROM else "before every recursion has settled"
    return f"conditions on t = {first}..{last}, {settled}"


def check_latex(r: CheckResult, label: str) -> str:
    cols = "r" + "c" * len(QUANTITIES)
    head = " & ".join(["t"] + [f"$\\gamma[{TEX_NAMES[q]}]$" for q in QUANTITIES])
    rows = []
    for t in range(r.trajectory.steps + 1):
        cells = [r.trajectory.values[q][t] for q in QUANTITIES]
        rows.append(" & ".join([str(t)] + ["" if e is None else f"${e.latex()}$" for e in cells])
                    + r" \\")
    flags = (f"stable: {_yn(r.stable)}, efficient: {_yn(r.efficient)}, internally stable: "
             f"{_yn(r.internally_stable)}, robust: {_yn(r.robust)}")
    return "\n".join([f"% {r.model.optimizer}, init {label}", f"\\begin{{tabular}}{{{cols}}}",
                      head + r" \\ \hline", *rows, r"\end{tabular}", f"% {flags}"])


# -- feasible sets ------------------------------------------------------------------------
def region_json(r: Region) -> dict:
    return {"constraints": pretty_constraints(r),
            "zero_cases": sorted(sorted(z) for z in r.zero_sets)}


def solve_json(fs: FeasibleSet) -> dict:
    q = fs.query
    return {"optimizer": q.optimizer, "convention": q.convention, "equal_lr": q.equal_lr,
            "internal": q.internal, "robust": q.robust, "variables": list(q.variables),
            "regions": [region_json(r) for r in fs.regions]}


VAR_DOC = {"entry": "A0, B0 = entry exponents of A_0, B_0 (entries Θ(n^A0)); -oo = zero",
           "paper": "A0 := γ[A_0 z] - 1 and B0 := γ[B_0] (Beyond Zero Init's convention); "
                    "-oo = zero"}


def solve_text(fs: FeasibleSet) -> str:
    q = fs.query
    what = "efficient" + (" + internally stable" if q.internal else "") + \
        (" + robust" if q.robust else "")
    rates = "c = γ[η_A] = γ[η_B]" if q.equal_lr else "c_A = γ[η_A], c_B = γ[η_B]"
    lines = [f"{q.optimizer}: {what} LoRA ({_window_text(q.from_step, q.steps)})",
             f"variables: {rates}; {VAR_DOC[q.convention]}", "feasible set (union):"]
    return "\n".join(lines + [f"  {line}" for line in pretty_regions(fs.regions)])


def _tex_constraint(text: str) -> str:
    for op, tex in (("<=", r"\le"), (">=", r"\ge"), ("<", "<"), (">", ">"), ("=", "=")):
        if f" {op} " in text:
            lhs, rhs = text.split(f" {op} ", 1)
            return f"{Exponent.parse(lhs).latex()} {tex} {Exponent.parse(rhs).latex()}"
    return text


def regions_latex(regions: Sequence[Region]) -> str:
    parts = []
    for r in regions:
        body = r",\ ".join(_tex_constraint(c) for c in pretty_constraints(r)) or r"\mathbb{R}"
        note = r.zero_note()
        parts.append(r"\{" + body + r"\}" + (f"\\quad\\text{{({note})}}" if note else ""))
    return "$$\n" + "\n\\;\\cup\\;\n".join(parts or [r"\emptyset"]) + "\n$$"


# -- max-lr, table, mlp, claims -----------------------------------------------------------
def max_lr_json(m: MaxLR, label: str, optimizer: str) -> dict:
    return {"optimizer": optimizer, "init": label, "lr_exponent": str(m),
            "attained": m.attained, "status": m.status}


def max_lr_text(m: MaxLR, label: str, optimizer: str) -> str:
    head = f"{optimizer}, init {label}: largest stable equal rate"
    if m.status == "unbounded":
        return f"{head}: no upper limit (Z_B stays bounded at every rate: nothing moves it)"
    if m.status == "infeasible":
        return f"{head}: none (Z_B is unbounded at every rate)"
    return f"{head} η = Θ(n^{m}) ({'attained' if m.attained else 'supremum, not attained'})"


def max_lr_latex(m: MaxLR) -> str:
    if m.status == "unbounded":
        return r"$c_{\max} = +\infty$ % no upper limit"
    if m.status == "infeasible":
        return r"$c_{\max}$: none % no stable rate"
    return f"$c_{{\\max}} = {m}$"


def _slope(v: str | None) -> str:
    return "-" if v is None else f"{v}ε"


def table_text(rows: list[dict], optimizer: str, lr: str) -> str:
    head = (f"{optimizer}, equal rates γ[η] = {lr} (robustness: both rates lowered to "
            f"{lr} - ε); γ[A_0], γ[B_0] in Beyond Zero Init's convention\n")
    cols = ["scheme", "paper", "γ[A_0]", "γ[B_0]", "stable", "efficient", "int.stable", "robust",
            "δ¹~", "δ²~", "max-lr"]
    data = [[r["scheme"], r["paper_name"], r["A_0"], r["B_0"], _yn(r["stable"]),
             _yn(r["efficient"]), _yn(r["internally_stable"]), _yn(r["robust"]),
             _slope(r['degradation']['delta1']), _slope(r['degradation']['delta2']), r["max_lr"]]
            for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(cols, *data)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return head + "\n".join(fmt.format(*map(str, row)) for row in [cols] + data)


def table_latex(rows: list[dict], optimizer: str, lr: str) -> str:
    lines = [f"% {optimizer}, equal rates {lr}", r"\begin{tabular}{lcccccc}",
             (r"scheme & $\gamma[A_0]$ & $\gamma[B_0]$ & stable & efficient & robust & "
             r"$c_{\max}$ \\ \hline")]
    for r in rows:
        lines.append(f"{r['paper_name']} & ${r['A_0']}$ & ${r['B_0']}$ & {_yn(r['stable'])} & "
                     f"{_yn(r['efficient'])} & {_yn(r['robust'])} & ${r['max_lr']}$ \\\\")
    return "\n".join(lines + [r"\end{tabular}"])


def mlp_json(r: MLPResult) -> dict:
    out: dict[str, Any] = {"optimizer": r.optimizer, "hidden_layers": r.hidden_layers}
    out.update({g: r.mup[g] for g in r.mup})
    out["maximal_update_set"] = [region_json(x) for x in r.maximal]
    out["stable_set"] = [region_json(x) for x in r.stable]
    out["free"] = r.free
    return out


def mlp_text(r: MLPResult) -> str:
    lines = [(f"{r.optimizer} MLP: input (fan-in d), {r.hidden_layers} hidden layer(s) of width n, "
             "readout (k outputs); entries N(0, n^v), rate n^c"),
             "", f"{'role':<8}{'init variance':>16}{'learning rate':>16}"]
    for role in r.groups:
        m = r.mup[role]
        lines.append(f"{role:<8}{'n^' + m['init_var_exponent']:>16}{'n^' + m['lr_exponent']:>16}")
    if r.free:
        lines.append("also allowed: " + ", ".join(f"{k} {v}" for k, v in r.free.items()))
    lines += ["", "maximal-update set:"] + [f"  {x}" for x in pretty_regions(r.maximal)]
    lines += ["stable set:"] + [f"  {x}" for x in pretty_regions(r.stable)]
    return "\n".join(lines)


def claims_text(claims: list[Claim]) -> str:
    out = []
    for c in claims:
        out.append(f"[{'agrees' if c.agrees else 'DIFFERS'}] {c.key} — {c.source}")
        out.append(f"    stated:  {c.statement}")
        out += [f"    derived: {d}" for d in c.derived]
        if c.note:
            out.append(f"    note:    {c.note}")
    return "\n".join(out)


def claims_json(claims: list[Claim]) -> list[dict]:
    return [{"key": c.key, "source": c.source, "statement": c.statement, "derived": c.derived,
             "agrees": c.agrees, "note": c.note} for c in claims]
