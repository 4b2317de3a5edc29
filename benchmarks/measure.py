"""Run one command and report its wall time and peak resident memory as JSON.

    python benchmarks/measure.py --report stats.json -- mltc train --train tr.jsonl ...

The wall clock runs from just before the child is started to its exit, so it covers the
child's interpreter start and imports. Peak RSS comes from ``os.wait4`` on that child alone
(Linux reports the largest RSS of the child and of any descendant it waited for), so
several commands measured one after another do not share one ``ru_maxrss``. The command's
stdout and stderr pass through; this wrapper's exit status is the command's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--report", required=True, help="Write {wall_seconds, peak_rss_mb, returncode, ...} here.")
    p.add_argument("command", nargs=argparse.REMAINDER, help="The command, after --.")
    args = p.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        p.error("no command given")
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(args.report, "w") as f:
        json.dump({"wall_seconds": round(wall, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                   "user_seconds": round(usage.ru_utime, 2), "system_seconds": round(usage.ru_stime, 2),
                   "returncode": child.returncode}, f)
    sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)


if __name__ == "__main__":
    main()
