"""`width-sweep` command (placeholder until width_sweeps lands)."""
import sys


def main(argv: list[str] | None = None) -> int:
    print("width-sweep: not implemented yet", file=sys.stderr)
    return 2
