"""Run the bad-input table (cases.py) against whatever gammakit is importable and count the
outcomes: clean / unclear message / wrong exit / traceback / silently accepted.

    PYTHONPATH=<checkout> python tests/contract/count.py [--json FILE] [--only SUBSTRING]

Each row runs in a forked child (a hang past --timeout seconds counts as silently accepted),
under a 12 GiB address-space limit so a runaway allocation fails instead of swapping.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cases

LIMIT_AS = 12 << 30


def run_forked(case: cases.Case, timeout: float) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                    # child
        os.close(r)
        if LIMIT_AS:
            resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, resource.RLIM_INFINITY))
        tmp = Path(tempfile.mkdtemp(prefix="contract-"))
        try:
            o = cases.run_case(case, tmp)
            res = {"kind": o.kind(case), "code": o.code, "err": o.err[-600:],
                   "tb": o.tb[-400:]}
        except BaseException as exc:               # noqa: BLE001 — setup failure
            res = {"kind": "setup-error", "code": None, "err": repr(exc)[:400], "tb": ""}
        shutil.rmtree(tmp, ignore_errors=True)
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    t0, buf = time.time(), b""
    while True:
        left = timeout - (time.time() - t0)
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return {"kind": "silent", "code": None, "err": f"still running after {timeout:.0f} s",
                    "tb": ""}
        ready, _, _ = select.select([r], [], [], min(left, 1.0))
        if ready:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            buf += chunk
    os.waitpid(pid, 0)
    os.close(r)
    return json.loads(buf) if buf else {"kind": "traceback", "code": None,
                                        "err": "child died", "tb": ""}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--json")
    p.add_argument("--only", default="")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--no-limit", action="store_true", help="no address-space limit")
    a = p.parse_args()
    global LIMIT_AS
    LIMIT_AS = 0 if a.no_limit else LIMIT_AS
    import torch  # noqa: F401 — imported once, inherited by every forked row

    import width_sweeps.cli  # noqa: F401
    rows = {}
    for case in cases.all_cases():
        if a.only not in case.id:
            continue
        why = cases.skip_reason(case)
        if why:
            rows[case.id] = {"kind": "skipped", "why": why}
            continue
        rows[case.id] = res = run_forked(case, a.timeout)
        print(f"{res['kind']:11s} {case.prog:11s} {case.id:34s} exit={res['code']} "
              f"{res['err'].strip().splitlines()[-1] if res['err'].strip() else ''}"[:220],
              flush=True)
    counts = Counter(r["kind"] for r in rows.values())
    print(json.dumps(dict(sorted(counts.items())), indent=1))
    by_prog = Counter((c.prog, rows[c.id]["kind"]) for c in cases.all_cases() if c.id in rows)
    for (prog, kind), n in sorted(by_prog.items()):
        print(f"  {prog:11s} {kind:11s} {n}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
