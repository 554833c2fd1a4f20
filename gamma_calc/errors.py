"""The error contract shared by every gammakit command line (`gamma-solve`, `width-sweep`,
`toy-data`, `toy-model`).

* A **user error** — a bad value or option, a missing, unreadable or corrupted file, an
  impossible device, a resource refused — is one line on stderr naming the file, field and
  value, and exit code **2**.  Raise :class:`UserError` (or any exception class a command
  declares as a user error) with that line as the message.
* A **bug** is one line, ``PROG: internal error: Type: message (rerun with --debug for the
  traceback)``, and exit code **1**.
* ``--debug`` anywhere on the command line (or ``GAMMAKIT_DEBUG=1``) lets the traceback through.
* An ``OSError`` that reaches the top (a file that cannot be read or written: missing,
  refused, read-only, disk full) is the environment's, not a bug: one line naming the file and
  the system's reason, exit code **2**.
* A closed output pipe (``gamma-solve table | head``) ends quietly with exit code 0; Ctrl-C is
  exit code 130.

Usage::

    def main(argv=None) -> int:
        return run_cli("width-sweep", _main, argv, user_errors=(SpecError, DataError))
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

__all__ = ["EXIT_BUG", "EXIT_USER", "UsageParser", "UserError", "first_line", "os_error_line",
           "run_cli"]

EXIT_USER = 2
EXIT_BUG = 1
DEBUG_FLAG = "--debug"


class UserError(ValueError):
    """A problem with the user's input; the message is the one line shown (exit code 2)."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (its type name when empty)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def os_error_line(exc: OSError) -> str:
    """``PATH: reason`` for an OSError (``cannot write PATH: No space left on device``)."""
    reason = exc.strerror or first_line(exc)
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    if not paths:
        return first_line(exc)
    return f"{' -> '.join(str(p) for p in paths)}: {reason}"


class UsageParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UserError` instead of printing usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"usage: {message} (see {self.prog} --help)")


def _debug(argv: list[str]) -> tuple[list[str], bool]:
    on = DEBUG_FLAG in argv or os.environ.get("GAMMAKIT_DEBUG", "") not in ("", "0")
    return [a for a in argv if a != DEBUG_FLAG], on


def _quiet_pipe() -> None:
    """After EPIPE: point stdout at /dev/null so the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_cli(prog: str, main: Callable[[list[str]], int], argv: Sequence[str] | None = None,
            *, user_errors: tuple[type[BaseException], ...] = ()) -> int:
    """Run ``main(argv)`` under the contract above; returns the exit code."""
    args, debug = _debug(list(sys.argv[1:] if argv is None else argv))
    try:
        code = main(args)
        sys.stdout.flush()
        return code
    except SystemExit as exc:          # --help / --version
        return exc.code if isinstance(exc.code, int) else 0
    except BrokenPipeError:
        _quiet_pipe()
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (UserError, *user_errors) as exc:  # type: ignore[misc]  # a tuple of classes
        if debug:
            raise
        print(f"{prog}: error: {first_line(exc)}", file=sys.stderr)
        return EXIT_USER
    except OSError as exc:
        if debug:
            raise
        print(f"{prog}: error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_USER
    except Exception as exc:  # a bug: one line unless --debug
        if debug:
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {first_line(exc)} "
              f"(rerun with {DEBUG_FLAG} for the traceback)", file=sys.stderr)
        return EXIT_BUG
