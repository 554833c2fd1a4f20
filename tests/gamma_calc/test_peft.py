"""peft's `init_lora_weights` values in gamma_calc: aliases, the peft table (`gamma-solve table
--peft`).  Their declared entry exponents are measured in tests/toy_models/test_peft_inits.py."""
from __future__ import annotations

import json

import pytest

from gamma_calc.cli import main
from gamma_calc.peft import PEFT, PEFT_INITS
from gamma_calc.schemes import SCHEMES, UnknownSchemeError, canonical_scheme


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("value, scheme", [
    (True, "A"), ("True", "A"), (False, "kaiming"), ("gaussian", "gaussian"),
    ("orthogonal", "ortho-qr-const"), ("pissa", "pissa"), ("pissa_niter_16", "pissa"),
    ("olora", "olora")])
def test_peft_values_are_aliases(value, scheme):
    assert canonical_scheme(value) == scheme


@pytest.mark.parametrize("value", ["True", "false", "gaussian", "orthogonal", "pissa_niter_4"])
def test_gamma_solve_accepts_peft_names(capsys, value):
    code, out, _ = run(capsys, "check", "--init", value, "--lr", "-1/2", "--format", "json")
    assert code == 0 and json.loads(out)["stable"] in (True, False)


@pytest.mark.parametrize("value", ["eva", "corda", "loftq", "lora_ga", "mica"])
def test_undrawn_peft_values_name_the_table(capsys, value):
    with pytest.raises(UnknownSchemeError):
        canonical_scheme(value)
    code, out, err = run(capsys, "check", "--init", value, "--lr", "-1/2")
    assert code == 2 and out == "" and "table --peft" in err and err.count("\n") == 1


def test_gaussian_differs_from_kaiming_a():
    """peft's 'gaussian' A has Θ(1) entries (std 1/r), not Kaiming's n^-1/2."""
    assert str(SCHEMES["gaussian"].A.entry) == "0" and SCHEMES["gaussian"].B.is_zero
    assert str(SCHEMES["A"].A.entry) == "-1/2"


def test_peft_table_covers_every_value_and_scheme(capsys):
    code, out, _ = run(capsys, "table", "--peft", "--format", "json")
    rows = json.loads(out)["rows"]
    assert code == 0
    assert [r["peft"] for r in rows if r["peft"] != "—"] == [p.value for p in PEFT_INITS]
    assert {r["scheme"] for r in rows} - {"—"} == set(SCHEMES)
    by = {r["peft"]: r for r in rows}
    # standard LoRA (True) at η = n^-1/2 under Adam: stable and efficient, not robust
    assert (by["True"]["stable"], by["True"]["efficient"], by["True"]["robust"]) == \
        (True, True, False)
    assert by["eva"]["A_kind"] == "aligned" and by["eva"]["B_entry"] == "-oo"
    assert by["lora_ga"]["stable"] is None and by["mica"]["stable"] is None
    code, text, _ = run(capsys, "table", "--peft")
    assert code == 0 and "pissa_niter_<k>" in text and "notes:" in text


def test_table_entries_equal_the_scheme_they_draw():
    for p in PEFT.values():
        if p.scheme is not None:
            s = SCHEMES[p.scheme]
            assert (p.A, p.B, p.subtract) == (s.A, s.B, s.subtract)


def test_docs_peft_table_matches_the_cli(capsys):
    """docs/coord_check.md shows `gamma-solve table --peft` verbatim: regenerate it when a scheme
    or a derivation changes (the rows, not the notes)."""
    from pathlib import Path
    doc = (Path(__file__).parents[2] / "docs" / "coord_check.md").read_text()
    block = doc[doc.index("```\npeft  ") + 4:]
    documented = block[:block.index("```")].strip().splitlines()
    code, out, _ = run(capsys, "table", "--peft")
    assert code == 0
    printed = [line.rstrip() for line in out.splitlines()]
    printed = printed[1:printed.index("notes:")]
    assert documented == printed
