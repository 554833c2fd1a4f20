"""`gamma-solve` command (placeholder)."""
import sys


def main(argv: list[str] | None = None) -> int:
    print("gamma-solve: not implemented yet", file=sys.stderr)
    return 2
