"""`gamma-solve` on bad input: one line on stderr naming the option and value, exit code 2; a
bug is one line with exit code 1 (``--debug`` lets the traceback through); a closed pipe is
quiet. Also the inputs that used to be misread or misreported (``--lr=--1``, ``--steps 2``,
zero/zero inits, ``max-lr`` without an upper limit)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gamma_calc import commands
from gamma_calc.cli import main

CHECK = ["check", "--init", "A"]

BAD = [
    # argv, fragment of the one error line
    (["check", "--init", "nope", "--lr", "0"], "unknown init scheme 'nope'"),
    (CHECK + ["--lr", "1/0"], "division by zero"),
    (CHECK + ["--lr", "abc"], "--lr: 'abc' is not a number"),
    (CHECK + ["--lr=--1"], "--lr: repeated sign in exponent '--1'"),
    (CHECK + ["--lr", "--1"], "--lr: repeated sign"),
    (CHECK + ["--lr", "0x10"], "--lr: malformed number '0x10'"),
    (CHECK + ["--lr", "1e-999"], "--lr: malformed number '1e-999'"),
    (CHECK + ["--lr", "1e999"], "--lr: malformed number '1e999'"),
    (CHECK + ["--lr", "1_0"], "--lr: malformed number '1_0'"),
    (CHECK + ["--lr", "nan"], "--lr: 'nan' is not a number"),
    (CHECK + ["--lr", "inf"], "--lr: exponent 'inf' is +oo"),
    (CHECK + ["--lr", "-oo"], "--lr: '-oo': needs a finite number"),
    (CHECK + ["--lr", "1001"], "--lr: '1001' is out of range"),
    (CHECK + ["--lr", "0", "--lr-b", "0x1"], "--lr-b: malformed number '0x1'"),
    (CHECK + ["--lr", "0", "--eps", "1e-3"], "--eps: malformed number '1e-3'"),
    (CHECK + ["--lr", "0", "--grad-exponent", "nan"], "--grad-exponent: 'nan' is not a number"),
    (["check", "--a-entry", "0x1", "--b-entry", "0", "--lr", "0"], "--a-entry: malformed number"),
    (["check", "--a-entry", "x", "--b-entry", "0", "--lr", "0"], "--a-entry: 'x' is not a number"),
    (["max-lr", "--a-entry", "+oo", "--b-entry", "0"], "--a-entry: exponent '+oo' is +oo"),
    (CHECK + ["--a-entry", "0", "--lr", "0"], "either --init or --a-entry/--b-entry, not both"),
    (["check", "--a-entry", "0", "--a-kind", "aligned", "--b-entry", "0", "--lr", "0",
      "--cancel-init-product"], "--cancel-init-product needs random A_0 and B_0"),
    (["max-lr", "--a-entry", "-oo", "--b-entry", "0", "--cancel-init-product"],
     "needs random A_0 and B_0 (got A_0 zero"),
    (["check", "--a-entry", "0", "--lr", "0"], "both --a-entry and --b-entry"),
    (CHECK, "the following arguments are required: --lr"),
    (CHECK + ["--lr", "0", "--steps", "1"], "--steps: 1 is out of range (2..12)"),
    (CHECK + ["--lr", "0", "--steps", "0"], "--steps: 0 is out of range"),
    (CHECK + ["--lr", "0", "--steps", "-3"], "--steps: -3 is out of range"),
    (CHECK + ["--lr", "0", "--steps", "13"], "--steps: 13 is out of range"),
    (CHECK + ["--lr", "0", "--steps", "2.5"], "--steps: '2.5' is not a whole number"),
    (CHECK + ["--lr", "0", "--steps", "0x3"], "--steps: '0x3' is not a whole number"),
    (CHECK + ["--lr", "0", "--steps", "3", "--from-step", "4"],
     "--from-step 4 is after the last step (--steps 3)"),
    (CHECK + ["--lr", "0", "--from-step", "0"], "--from-step: 0 is out of range"),
    (["solve", "--steps", "0"], "--steps: 0 is out of range"),
    (CHECK + ["--lr", "0", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
    (CHECK + ["--lr", "0", "--format", "yaml"], "invalid choice: 'yaml'"),
    (["solve", "--convention", "weird"], "invalid choice: 'weird'"),
    (["mlp", "--hidden-layers", "0"], "--hidden-layers: 0 is out of range (1..4)"),
    (["mlp", "--hidden-layers", "-2"], "--hidden-layers: -2 is out of range"),
    (["mlp", "--hidden-layers", "1000000"], "--hidden-layers: 1000000 is out of range"),
    (["mlp", "--hidden-layers", "10" * 400], "is out of range"),
    (["mlp", "--hidden-layers", "4", "--per-layer"],
     "--per-layer supports --hidden-layers up to 3"),
    (["mlp", "--steps", "0"], "--steps: 0 is out of range (1..3)"),
    (["mlp", "--steps", "4"], "--steps: 4 is out of range"),
    (["mlp", "--optimizer", "lion"], "invalid choice: 'lion'"),
    (["table", "--lr", "0x10"], "--lr: malformed number '0x10'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required"),
]


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,fragment", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_line_naming_it_and_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, argv)
    assert code == 2 and not out
    assert err.startswith("gamma-solve: error: ") and err.count("\n") == 1
    assert fragment in err


def test_a_bug_is_one_line_exit_1_and_debug_shows_the_traceback(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("the solver broke")
    monkeypatch.setattr(commands, "cmd_schemes", broken)
    code, out, err = run(capsys, ["schemes"])
    assert code == 1 and not out and err.count("\n") == 1
    assert "internal error: RuntimeError: the solver broke" in err and "--debug" in err
    with pytest.raises(RuntimeError, match="the solver broke"):
        main(["schemes", "--debug"])


@pytest.mark.parametrize("steps", ["2", "3"])
def test_few_steps_clamp_the_default_window_and_say_so(capsys, steps):
    code, out, err = run(capsys, CHECK + ["--lr", "-1/2", "--steps", steps, "--format", "json"])
    d = json.loads(out)
    assert code == 0 and not err and d["steps"] == int(steps) and d["from_step"] == int(steps)
    assert any("ends before step 3" in n for n in d["notes"]) == (steps == "2")
    code, out, _ = run(capsys, CHECK + ["--lr", "-1/2", "--steps", steps])
    assert code == 0 and "--from-step" not in out


def test_zero_zero_init_says_that_nothing_trains(capsys):
    code, out, _ = run(capsys, ["check", "--init", "zero", "--lr", "-1/2"])
    assert code == 0
    assert "None" not in out and "first moves" not in out
    assert "nothing trains" in out and "δ¹ = 0 exactly" in out


def test_max_lr_without_upper_limit_says_so(capsys):
    code, out, _ = run(capsys, ["max-lr", "--init", "zero"])
    assert code == 0 and "oo" not in out and "no upper limit" in out
    code, out, _ = run(capsys, ["max-lr", "--init", "zero", "--format", "latex"])
    assert code == 0 and "n^{oo}" not in out and "infty" in out


def test_closed_pipe_is_quiet():
    p = subprocess.run(f"{sys.executable} -m gamma_calc.cli table | head -1", shell=True,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.stdout.startswith("adam") and p.stderr == ""


def test_console_entry_point_exits_2_without_traceback():
    p = subprocess.run([sys.executable, "-m", "gamma_calc.cli", "check", "--init", "A",
                        "--lr=--1"], capture_output=True, text=True, check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
