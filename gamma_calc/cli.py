"""``gamma-solve``: derive LoRA's width-scaling conditions from the command line.

Every subcommand prints text (default), JSON or LaTeX. Errors follow the shared contract of
:mod:`gamma_calc.errors`: bad input is one line on stderr naming the option and value, exit code
2; a bug is one line with exit code 1 (``--debug`` shows the traceback); a closed pipe ends
quietly. Exponents are plain numbers — ``-1/2``, ``-0.5``, ``-oo`` (also right after an option:
``--lr -1/2``); hexadecimal, scientific notation, repeated signs, ``nan``/``inf`` and values
beyond ±1000 are refused.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from fractions import Fraction

from .errors import UsageParser, run_cli
from .exponent import Exponent, ExponentError
from .schemes import SCHEMES, UnknownSchemeError

EXAMPLES = """examples:
  gamma-solve check --optimizer adam --init A --lr -1/2
  gamma-solve check --optimizer adam --a-entry 0 --b-entry -1/2 --lr -1/2 --eps 1/4 --format json
  gamma-solve solve --optimizer adam --convention paper
  gamma-solve solve --optimizer sgd --equal-lr
  gamma-solve table --optimizer adam --lr -1/2
  gamma-solve table --peft
  gamma-solve max-lr --optimizer adam --init B --format json
  gamma-solve mlp --optimizer sgd --hidden-layers 2
  gamma-solve claims
  gamma-solve schemes"""

MLP_MAX_LAYERS = 4  # per role: seconds (per layer: at most 3, checked in commands)
EXPONENT_OPTS = {"--lr", "--lr-b", "--eps", "--a-entry", "--b-entry", "--grad-exponent"}
MAX_ABS_EXPONENT = 1000  # n^1000 already overflows a float at n = 2


def _exponent(text: str, finite: bool) -> str:
    """An option's exponent, checked: a plain number (or ``-oo`` where ``finite`` is false)."""
    try:
        e = Exponent.parse(text)
    except ExponentError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (e.g. -1/2, -0.5 or -oo)") from None
    if e.vars:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. -1/2, -0.5 or -oo)")
    if e.is_neg_inf:
        if finite:
            raise argparse.ArgumentTypeError(f"{text!r}: needs a finite number")
        return "-oo"
    if abs(Fraction(e.value())) > MAX_ABS_EXPONENT:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (|exponent| <= "
                                         f"{MAX_ABS_EXPONENT})")
    return str(e)


def finite_exponent(text: str) -> str:
    return _exponent(text, finite=True)


def entry_exponent(text: str) -> str:
    return _exponent(text, finite=False)


def _count(lo: int, hi: int):
    def parse(text: str) -> int:
        shown = text if len(text) <= 24 else text[:20] + "..."
        try:
            k = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number") from None
        if not lo <= k <= hi:
            raise argparse.ArgumentTypeError(f"{shown} is out of range ({lo}..{hi})")
        return k
    return parse


def _formats(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json", "latex"), default="text")


def _optimizer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="adam (normalised updates) or sgd (Beyond Zero Init App. C model)")


def _init(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--init", metavar="NAME", help=f"named scheme: {', '.join(SCHEMES)}")
    p.add_argument("--a-entry", metavar="X", type=entry_exponent,
                   help="entry exponent of A_0 (-oo: zero)")
    p.add_argument("--b-entry", metavar="Y", type=entry_exponent,
                   help="entry exponent of B_0 (-oo: zero)")
    p.add_argument("--a-kind", choices=("random", "aligned"), default="random")
    p.add_argument("--b-kind", choices=("random", "aligned"), default="random")
    p.add_argument("--cancel-init-product", action="store_true",
                   help="mark B_0 A_0 = 0 exactly (orthogonal inits; implied by their names)")


def _model_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=_count(2, 12), default=5,
                   help="steps to unroll, 2..12 (default 5)")
    p.add_argument("--from-step", type=_count(1, 12), default=None,
                   help="first step of the condition window (default 3, where every recursion "
                        "has settled, or --steps if smaller; 2 = the papers' literal 't >= 2')")
    p.add_argument("--out-dim", choices=("width", "fixed"),
                   help="B's output dimension (default: width for adam, fixed for sgd)")
    p.add_argument("--grad-exponent", metavar="G", default="0", type=finite_exponent,
                   help="γ[dZ̄] of the backpropagated signal (SGD)")


def build_parser() -> argparse.ArgumentParser:
    ap = UsageParser(prog="gamma-solve", description="Derive LoRA width-scaling conditions with the "
                 "γ-operator algebra (Beyond Zero Init, LoRA+, docs/theory.md §1-3).",
                 epilog=EXAMPLES,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=UsageParser)

    def add(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("check", "exponents and stable/efficient/robust flags of one configuration",
            "gamma-solve check --optimizer adam --init AB --lr -1/2 --eps 1/4")
    _optimizer(p); _init(p, True)
    p.add_argument("--lr", required=True, metavar="C", type=finite_exponent,
                   help="γ[η_A] (and γ[η_B] unless --lr-b)")
    p.add_argument("--lr-b", metavar="C", type=finite_exponent,
                   help="γ[η_B] when it differs from γ[η_A]")
    p.add_argument("--eps", default="0", metavar="E", type=finite_exponent,
                   help="report exponents at rates c - E")
    _model_opts(p); _formats(p)

    p = add("solve", "the feasible set of rates and init exponents (a union of polyhedra)",
            "gamma-solve solve --optimizer adam --equal-lr --convention paper")
    _optimizer(p)
    p.add_argument("--equal-lr", action="store_true", help="η_A = η_B")
    p.add_argument("--internal", action="store_true", help="also internally stable (Z_A = O(1))")
    p.add_argument("--robust", action="store_true", help="also robust to smaller rates (Def. 5)")
    p.add_argument("--convention", choices=("entry", "paper"), default="entry",
                   help="entry exponents, or Beyond Zero Init's γ[A_0] := γ[A_0 z] - 1")
    _model_opts(p); _formats(p)

    p = add("table", "one row per named scheme (Beyond Zero Init Table 1 and more)",
            "gamma-solve table --optimizer adam --lr -1/2")
    _optimizer(p)
    p.add_argument("--lr", default="-1/2", metavar="C", type=finite_exponent,
                   help="equal-rate exponent (default -1/2)")
    p.add_argument("--peft", action="store_true",
                   help="rows for peft's init_lora_weights values and the schemes they draw")
    _formats(p)

    p = add("max-lr", "largest equal-rate exponent keeping Z_B = O(1) for every step",
            "gamma-solve max-lr --optimizer adam --init B")
    _optimizer(p); _init(p, True)
    p.add_argument("--internal", action="store_true", help="also keep Z_A = O(1)")
    _formats(p)

    p = add("mlp", "stability and maximal-update conditions of an MLP; the μP they imply",
            "gamma-solve mlp --optimizer adam --hidden-layers 2 --format json")
    _optimizer(p)
    p.add_argument("--hidden-layers", type=_count(1, MLP_MAX_LAYERS), default=1, metavar="L",
                   help=f"hidden layers, 1..{MLP_MAX_LAYERS} (default 1)")
    p.add_argument("--steps", type=_count(1, 3), default=2, help="steps to unroll, 1..3 (default 2)")
    p.add_argument("--per-layer", action="store_true",
                   help="one variance and rate exponent per hidden layer (default: per role)")
    _formats(p)

    p = add("claims", "derive every claim of the papers and compare it with the paper's statement",
            "gamma-solve claims --format json")
    _formats(p)

    p = add("schemes", "the named init schemes: entry exponents, kinds, paper convention",
            "gamma-solve schemes")
    _formats(p)
    return ap


def _join_exponent_values(argv: Sequence[str]) -> list[str]:
    """``--lr -1/2`` → ``--lr=-1/2`` (argparse would read ``-1/2`` as an option)."""
    out, i = [], 0
    argv = list(argv)
    while i < len(argv):
        tok = argv[i]
        if tok in EXPONENT_OPTS and i + 1 < len(argv):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
        else:
            out.append(tok)
            i += 1
    return out


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(_join_exponent_values(argv))
    from . import commands  # after parsing: `--help` stays instant

    out = getattr(commands, "cmd_" + args.cmd.replace("-", "_"))(args)
    print(out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gamma-solve``; returns the exit code (0 ok, 2 bad input, 1 bug)."""
    return run_cli("gamma-solve", _main, argv, user_errors=(ExponentError, UnknownSchemeError))


if __name__ == "__main__":
    sys.exit(main())
