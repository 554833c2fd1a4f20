"""The ``gamma-solve`` subcommands: parsed arguments in, rendered text out."""
from __future__ import annotations

import argparse

from . import render
from .api import table
from .check import check
from .claims import derive_all
from .conditions import DEFAULT_FROM
from .errors import UserError
from .exponent import Exponent
from .feasible import Query, feasible_set, max_lr
from .mlp import solve_mlp
from .schemes import SCHEMES, FactorInit, get_scheme, paper_exponent


def _init_from(args: argparse.Namespace) -> tuple[FactorInit, FactorInit, str]:
    explicit = args.a_entry is not None or args.b_entry is not None
    if args.init and explicit:
        raise UserError("give either --init or --a-entry/--b-entry, not both")
    if args.init:
        s = get_scheme(args.init)
        args.cancel_init_product = args.cancel_init_product or s.cancel_init_product
        return s.A, s.B, s.name
    if args.a_entry is None or args.b_entry is None:
        raise UserError("give --init NAME, or both --a-entry and --b-entry")
    A0 = FactorInit.parse(args.a_entry, args.a_kind)
    B0 = FactorInit.parse(args.b_entry, args.b_kind)
    if args.cancel_init_product and not (A0.kind == B0.kind == "random"):
        raise UserError(f"--cancel-init-product needs random A_0 and B_0 (got A_0 {A0.kind}, "
                        f"B_0 {B0.kind})")
    return A0, B0, f"A_0 entries n^({A0.entry}), B_0 entries n^({B0.entry})"


def _out_width(args: argparse.Namespace) -> bool | None:
    return None if args.out_dim is None else args.out_dim == "width"


def _window(args: argparse.Namespace) -> list[str]:
    """Fix ``args.from_step`` (default: 3, or ``--steps`` when fewer steps are unrolled) and
    return notes on the window."""
    if args.from_step is None:
        args.from_step = min(DEFAULT_FROM, args.steps)
        if args.steps < DEFAULT_FROM:
            note = (f"window t = {args.from_step}..{args.steps}: --steps {args.steps} ends before "
                    f"step {DEFAULT_FROM}, where every recursion has settled")
            return [note]
    elif args.from_step > args.steps:
        raise UserError(f"--from-step {args.from_step} is after the last step (--steps "
                        f"{args.steps})")
    return []


def _render(fmt: str, obj, text, latex) -> str:
    if fmt == "json":
        return render.dumps(obj)
    return latex() if fmt == "latex" else text()


def cmd_check(args: argparse.Namespace) -> str:
    A0, B0, label = _init_from(args)
    notes = _window(args)
    r = check(args.optimizer, A0, B0, args.lr, args.lr_b, args.eps, args.steps, args.from_step,
              out_width=_out_width(args), grad=args.grad_exponent,
              cancel_init_product=args.cancel_init_product)
    r.notes = notes + r.notes
    return _render(args.format, render.check_json(r, label), lambda: render.check_text(r, label),
                   lambda: render.check_latex(r, label))


def cmd_solve(args: argparse.Namespace) -> str:
    _window(args)  # the header states the window
    q = Query(args.optimizer, args.equal_lr, args.internal, args.robust, args.convention,
              args.steps, args.from_step, _out_width(args), args.grad_exponent)
    fs = feasible_set(q)
    return _render(args.format, render.solve_json(fs), lambda: render.solve_text(fs),
                   lambda: render.regions_latex(fs.regions))


def cmd_table(args: argparse.Namespace) -> str:
    lr = str(Exponent.parse(args.lr))
    peft = getattr(args, "peft", False)
    rows = table(args.optimizer, lr, peft=peft)
    obj = {"optimizer": args.optimizer, "lr": lr, "rows": rows}
    if peft:
        from .peft import table_text
        text = lambda: table_text(rows, args.optimizer, lr)
        return _render(args.format, obj, text, text)
    return _render(args.format, obj, lambda: render.table_text(rows, args.optimizer, lr),
                   lambda: render.table_latex(rows, args.optimizer, lr))


def cmd_max_lr(args: argparse.Namespace) -> str:
    A0, B0, label = _init_from(args)
    m = max_lr(args.optimizer, A0, B0, internal=args.internal,
               cancel_init_product=args.cancel_init_product)
    d = render.max_lr_json(m, label, args.optimizer)
    return _render(args.format, d, lambda: render.max_lr_text(m, label, args.optimizer),
                   lambda: render.max_lr_latex(m))


MLP_PER_LAYER_MAX = 3  # the per-layer solve grows quickly with depth (SGD, L = 4: minutes)


def cmd_mlp(args: argparse.Namespace) -> str:
    if args.per_layer and args.hidden_layers > MLP_PER_LAYER_MAX:
        raise UserError(f"--per-layer supports --hidden-layers up to {MLP_PER_LAYER_MAX} (got "
                        f"{args.hidden_layers}); per role up to 4")
    r = solve_mlp(args.optimizer, args.hidden_layers, args.steps, args.per_layer)
    return _render(args.format, render.mlp_json(r), lambda: render.mlp_text(r),
                   lambda: render.regions_latex(r.maximal))


def cmd_claims(args: argparse.Namespace) -> str:
    claims = derive_all()
    return _render(args.format, render.claims_json(claims), lambda: render.claims_text(claims),
                   lambda: render.claims_text(claims))


def cmd_schemes(args: argparse.Namespace) -> str:
    rows = [{"scheme": s.name, "paper_name": s.paper_name, "A_entry": str(s.A.entry),
             "A_kind": s.A.kind, "B_entry": str(s.B.entry), "B_kind": s.B.kind,
             "paper_A0": str(paper_exponent(s.A, "A")), "paper_B0": str(paper_exponent(s.B, "B")),
             "subtract": s.subtract, "description": s.description} for s in SCHEMES.values()]
    text = "\n".join(f"{r['scheme']:<13} A_0 {r['A_kind']:>6} n^{r['A_entry']:<5} "
                     f"B_0 {r['B_kind']:>6} n^{r['B_entry']:<5} paper (γ[A_0], γ[B_0]) = "
                     f"({r['paper_A0']}, {r['paper_B0']})  {r['description']}" for r in rows)
    return _render(args.format, rows, lambda: text, lambda: text)
