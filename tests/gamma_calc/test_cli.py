"""`gamma-solve`: every subcommand, every format, and bad input (one line, exit 2)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gamma_calc.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_keys(capsys):
    code, out, _ = run(capsys, "check", "--optimizer", "adam", "--init", "A", "--lr", "-1/2",
                       "--format", "json")
    d = json.loads(out)
    assert code == 0
    assert {k: d[k] for k in ("stable", "efficient", "internally_stable", "robust")} == \
        {"stable": True, "efficient": True, "internally_stable": False, "robust": False}
    assert d["exponents"] == {"Z_A": "1/2", "Z_B": "0", "delta1": "0", "delta2": "0", "delta3": "0"}


def test_check_explicit_entries_accept_decimals_and_minus_infinity(capsys):
    code, out, _ = run(capsys, "check", "--a-entry", "-0.5", "--b-entry", "-oo", "--lr", "-0.5",
                       "--format", "json")
    assert code == 0 and json.loads(out)["efficient"] is True
    code, out, _ = run(capsys, "check", "--init", "AB", "--lr", "-1/2", "--eps", "1/4",
                       "--format", "json")
    d = json.loads(out)
    assert d["robust"] and d["exponents"]["delta1"] == "-1/4" and d["degradation"]["delta2"] == "-1"


@pytest.mark.parametrize("fmt", ["text", "json", "latex"])
@pytest.mark.parametrize("argv", [
    ["check", "--init", "B", "--lr", "-1"],
    ["solve", "--optimizer", "adam", "--equal-lr"],
    ["solve", "--optimizer", "sgd", "--convention", "paper"],
    ["table", "--optimizer", "adam"],
    ["max-lr", "--init", "A"],
    ["mlp", "--optimizer", "adam", "--hidden-layers", "1"],
    ["schemes"],
])
def test_every_subcommand_and_format(capsys, argv, fmt):
    code, out, err = run(capsys, *argv, "--format", fmt)
    assert code == 0 and out.strip() and not err
    if fmt == "json":
        json.loads(out)


def test_solve_and_max_lr_and_mlp_json(capsys):
    _, out, _ = run(capsys, "solve", "--optimizer", "adam", "--convention", "paper",
                    "--format", "json")
    assert json.loads(out)["regions"][0]["constraints"] == ["c_A + c_B = -1", "A0 <= c_A",
                                                           "B0 <= c_B"]
    _, out, _ = run(capsys, "max-lr", "--optimizer", "adam", "--init", "B", "--format", "json")
    assert json.loads(out)["lr_exponent"] == "-1"
    _, out, _ = run(capsys, "mlp", "--optimizer", "adam", "--hidden-layers", "2",
                    "--format", "json")
    d = json.loads(out)
    assert d["hidden"] == {"init_var_exponent": "-1", "lr_exponent": "-1"}
    assert set(d) >= {"input", "hidden", "output"}


def test_help_documents_every_subcommand_with_an_example():
    out = subprocess.run([sys.executable, "-m", "gamma_calc.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for cmd in ("check", "solve", "table", "max-lr", "mlp", "claims", "schemes"):
        assert f"gamma-solve {cmd}" in out
        sub = subprocess.run([sys.executable, "-m", "gamma_calc.cli", cmd, "--help"],
                             capture_output=True, text=True, check=True).stdout
        assert "example:" in sub


def test_console_entry_point_has_no_traceback():
    p = subprocess.run([sys.executable, "-m", "gamma_calc.cli", "check", "--init", "X",
                        "--lr", "0"], capture_output=True, text=True, check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1
