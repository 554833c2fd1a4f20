"""The shared CLI error contract (gamma_calc.errors)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from gamma_calc.errors import UsageParser, UserError, run_cli


def _main_raising(exc: BaseException):
    def main(argv: list[str]) -> int:
        raise exc
    return main


def test_user_error_is_one_line_exit_2(capsys):
    assert run_cli("prog", _main_raising(UserError("spec field 'widths': bad\nmore"))) == 2
    err = capsys.readouterr().err
    assert err == "prog: error: spec field 'widths': bad\n"


def test_declared_user_error_types(capsys):
    assert run_cli("prog", _main_raising(FileNotFoundError("no such file 'x'")), [],
                   user_errors=(FileNotFoundError,)) == 2
    assert "no such file 'x'" in capsys.readouterr().err


def test_bug_is_one_line_exit_1_with_hint(capsys):
    assert run_cli("prog", _main_raising(ZeroDivisionError("division by zero")), []) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError" in err
    assert "--debug" in err


def test_debug_lets_the_traceback_through():
    with pytest.raises(ZeroDivisionError):
        run_cli("prog", _main_raising(ZeroDivisionError("x")), ["--debug"])


def test_debug_flag_is_removed_from_argv():
    seen: list[list[str]] = []
    assert run_cli("prog", lambda a: seen.append(a) or 0, ["a", "--debug", "b"]) == 0
    assert seen == [["a", "b"]]


def test_usage_parser_raises_user_error():
    p = UsageParser(prog="prog")
    p.add_argument("--n", type=int)
    with pytest.raises(UserError, match="usage: .*--n"):
        p.parse_args(["--n", "x"])


def test_broken_pipe_is_quiet():
    code = ("import sys\nfrom gamma_calc.errors import run_cli\n"
            "def main(a):\n    for i in range(200000): print('x' * 50)\n    return 0\n"
            "sys.exit(run_cli('prog', main, []))\n")
    p = subprocess.run(f"{sys.executable} -c \"{code}\" | head -1", shell=True, check=False,
                       capture_output=True, text=True, timeout=60)
    assert p.stdout == "x" * 50 + "\n"
    assert "Traceback" not in p.stderr and "Error" not in p.stderr


def test_os_error_is_a_user_error_naming_the_file(capsys):
    exc = PermissionError(13, "Permission denied", "/ro/out/spec.json")
    assert run_cli("prog", _main_raising(exc), []) == 2
    assert capsys.readouterr().err == "prog: error: /ro/out/spec.json: Permission denied\n"
    assert run_cli("prog", _main_raising(OSError(28, "No space left on device")), []) == 2
    assert "No space left" in capsys.readouterr().err
