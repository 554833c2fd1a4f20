"""``gamma-solve``: derive LoRA's width-scaling conditions from the command line.

Every subcommand prints text (default), JSON or LaTeX. Bad input gives one line on stderr and
exit code 2; exponents may be written ``-1/2``, ``-0.5`` or ``-oo`` (also right after an option:
``--lr -1/2``).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .exponent import ExponentError
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

EXPONENT_OPTS = {"--lr", "--lr-b", "--eps", "--a-entry", "--b-entry", "--grad-exponent"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _formats(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json", "latex"), default="text")


def _optimizer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="adam (normalised updates) or sgd (seed 000 App. C model)")


def _init(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--init", metavar="NAME", help=f"named scheme: {', '.join(SCHEMES)}")
    p.add_argument("--a-entry", metavar="X", help="entry exponent of A_0 (-oo: zero)")
    p.add_argument("--b-entry", metavar="Y", help="entry exponent of B_0 (-oo: zero)")
    p.add_argument("--a-kind", choices=("random", "aligned"), default="random")
    p.add_argument("--b-kind", choices=("random", "aligned"), default="random")
    p.add_argument("--cancel-init-product", action="store_true",
                   help="mark B_0 A_0 = 0 exactly (orthogonal inits; implied by their names)")


def _model_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=5, help="steps to unroll (default 5)")
    p.add_argument("--from-step", type=int, default=3,
                   help="first step of the condition window (default 3, settled; 2 = literal)")
    p.add_argument("--out-dim", choices=("width", "fixed"),
                   help="B's output dimension (default: width for adam, fixed for sgd)")
    p.add_argument("--grad-exponent", metavar="G", default="0",
                   help="γ[dZ̄] of the backpropagated signal (SGD)")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="gamma-solve", description="Derive LoRA width-scaling conditions with the "
                 "γ-operator algebra (seed 000, LoRA+, THEORY §1-3).", epilog=EXAMPLES,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    def add(name: str, help_: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog=f"example:\n  {example}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("check", "exponents and stable/efficient/robust flags of one configuration",
            "gamma-solve check --optimizer adam --init AB --lr -1/2 --eps 1/4")
    _optimizer(p); _init(p, True)
    p.add_argument("--lr", required=True, metavar="C", help="γ[η_A] (and γ[η_B] unless --lr-b)")
    p.add_argument("--lr-b", metavar="C", help="γ[η_B] when it differs from γ[η_A]")
    p.add_argument("--eps", default="0", metavar="E", help="report exponents at rates c - E")
    _model_opts(p); _formats(p)

    p = add("solve", "the feasible set of rates and init exponents (a union of polyhedra)",
            "gamma-solve solve --optimizer adam --equal-lr --convention paper")
    _optimizer(p)
    p.add_argument("--equal-lr", action="store_true", help="η_A = η_B")
    p.add_argument("--internal", action="store_true", help="also internally stable (Z_A = O(1))")
    p.add_argument("--robust", action="store_true", help="also robust to smaller rates (Def. 5)")
    p.add_argument("--convention", choices=("entry", "paper"), default="entry",
                   help="entry exponents, or seed 000's γ[A_0] := γ[A_0 z] - 1")
    _model_opts(p); _formats(p)

    p = add("table", "one row per named scheme (seed 000 Table 1 and more)",
            "gamma-solve table --optimizer adam --lr -1/2")
    _optimizer(p)
    p.add_argument("--lr", default="-1/2", metavar="C", help="equal-rate exponent (default -1/2)")
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
    p.add_argument("--hidden-layers", type=int, default=1, metavar="L")
    p.add_argument("--steps", type=int, default=2, help="steps to unroll (default 2)")
    p.add_argument("--per-layer", action="store_true",
                   help="one variance and rate exponent per hidden layer (default: per role)")
    _formats(p)

    p = add("claims", "derive every claim of the papers and compare with THEORY.md",
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_join_exponent_values(sys.argv[1:] if argv is None else argv))
    from . import commands  # after parsing: `--help` stays instant

    try:
        out = getattr(commands, "cmd_" + args.cmd.replace("-", "_"))(args)
    except (ExponentError, UnknownSchemeError, ValueError) as e:
        print(f"gamma-solve: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 -- never a traceback for the user
        print(f"gamma-solve: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
