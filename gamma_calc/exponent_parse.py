"""Text syntax of exponents: the parser behind :meth:`Exponent.parse` (docs/theory.md §1).

Grammar (Python expression syntax, evaluated exactly on :class:`~fractions.Fraction`)::

    expr    := term | expr ("+" | "-") term
    term    := factor | term ("*" | "/") factor        # one side a rational constant
    factor  := ("+" | "-") atom | atom                 # a sign is never repeated
    atom    := decimal | name | "oo" | "inf" | "max(" expr {"," expr} ")" | "(" expr ")"

* ``decimal``: plain decimals only (``2``, ``0.5``, ``.5``; no ``0x10``, ``1e-3``, ``1_0``);
  ``-1/2`` is the fraction ``−1/2``. Decimals are read exactly (``0.1`` is ``1/10``).
* ``name``: a parameter (a Python identifier other than ``max``/``oo``/``inf``), e.g. ``c_A``.
* ``-oo`` (also ``-inf``, ``−∞``) is the exponent of an exact zero, ``γ[0] = −∞``; a bare ``+oo``
  is refused. ``−`` (U+2212) is read as ``-``.
* ``+`` of exponents is the tropical product (sum of exponents), ``max`` the tropical sum;
  multiplication and division are by rational constants only (``max`` by non-negative ones);
  an exponent containing ``max`` cannot be subtracted.

Any other input raises :class:`~gamma_calc.exponent.ExponentError` with a one-line message.
"""
from __future__ import annotations

import ast
import re

from .exponent import NEG_INF, Exponent, ExponentError, Lin, _coerce, to_fraction

_ALLOWED_NAMES = frozenset({"max", "oo", "inf"})
_DECIMAL = re.compile(r"\d+(\.\d*)?|\.\d+")


def _check_literals(tree: ast.AST, src: str, text: str) -> None:
    """Numbers are plain decimals (no ``0x10``, ``1e-999``, ``1_0``) and a sign is never
    repeated (``--1`` is not ``+1``): both are refused rather than silently reinterpreted."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            lit = ast.get_source_segment(src, node) or ""
            if not _DECIMAL.fullmatch(lit):
                raise ExponentError(f"malformed number {lit or node.value!r} in exponent "
                                    f"{text!r}: plain decimals and fractions only")
        if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.UnaryOp):
            raise ExponentError(f"repeated sign in exponent {text!r}")


def parse_text(text: str) -> Exponent:
    """Parse one exponent from text (the grammar in the module docstring)."""
    src = text.strip().replace("−", "-").replace("∞", "oo")
    if not src:
        raise ExponentError("empty exponent")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise ExponentError(f"malformed exponent: {text!r}") from None
    _check_literals(tree, src, text)
    try:
        result = _eval_node(tree.body, text, src)
    except ZeroDivisionError:
        raise ExponentError(f"division by zero in exponent: {text!r}") from None
    if isinstance(result, _PosInf):
        raise ExponentError(f"exponent {text!r} is +oo; only -oo (an exact zero) is allowed")
    return result if isinstance(result, Exponent) else _coerce(result)


class _PosInf:
    """Marker for a bare ``oo`` while parsing (only ``-oo`` is a valid exponent)."""


def _eval_node(node: ast.AST, text: str, src: str):
    bad = ExponentError(f"malformed exponent: {text!r}")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return Lin(to_fraction(ast.get_source_segment(src, node)))  # exact decimal
    if isinstance(node, ast.Name):
        if node.id in ("oo", "inf"):
            return _PosInf()
        if not node.id.isidentifier() or node.id in _ALLOWED_NAMES:
            raise bad
        return Lin.var(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        val = _eval_node(node.operand, text, src)
        if isinstance(node.op, ast.UAdd):
            return val
        if isinstance(val, _PosInf):
            return NEG_INF
        if isinstance(val, Lin):
            return -val
        raise bad
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "max":
        if not node.args or node.keywords:
            raise bad
        args = [_eval_node(a, text, src) for a in node.args]
        if any(isinstance(a, _PosInf) for a in args):
            raise bad
        return Exponent.max(*args)
    if isinstance(node, ast.BinOp):
        left, right = _eval_node(node.left, text, src), _eval_node(node.right, text, src)
        if isinstance(left, _PosInf) or isinstance(right, _PosInf):
            raise bad
        if isinstance(node.op, ast.Add):
            return _coerce(left) + _coerce(right) if _is_exp(left, right) else left + right
        if isinstance(node.op, ast.Sub):
            if isinstance(right, Exponent) or not isinstance(left, (Lin, Exponent)):
                raise bad
            return left - right
        if isinstance(node.op, (ast.Mult, ast.Div)):
            return _scale_node(left, right, isinstance(node.op, ast.Div), bad)
    raise bad


def _is_exp(*vals: object) -> bool:
    return any(isinstance(v, Exponent) for v in vals)


def _scale_node(left, right, divide: bool, bad: ExponentError):
    if isinstance(right, Lin) and right.is_const():
        k = right.const
        if divide:
            if k == 0:
                raise ZeroDivisionError
            k = 1 / k
        if not isinstance(left, (Lin, Exponent)):
            raise bad
        return left.scale(k)
    if (not divide and isinstance(left, Lin) and left.is_const()
            and isinstance(right, (Lin, Exponent))):
        return right.scale(left.const)
    raise bad
