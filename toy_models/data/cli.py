"""`toy-data` command (placeholder until toy_models lands)."""
import sys


def main(argv: list[str] | None = None) -> int:
    print("toy-data: not implemented yet", file=sys.stderr)
    return 0
