"""One command of a benchmark, run and measured: wall time, peak memory of its largest process, CPU seconds.

The command runs under a small wrapper process, so the figures are those of the command's own
process tree (`RUSAGE_CHILDREN` of the wrapper), not of the benchmark script around it.
"""

from __future__ import annotations

import json
import subprocess
import sys

WRAPPER = """
import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "wall": wall, "peak_mib": usage.ru_maxrss / 1024,
                  "cpu": usage.ru_utime + usage.ru_stime, "err": done.stderr[-2000:]}))
"""


def measured(argv: list[str], what: str) -> dict:
    """{code, wall, peak_mib, cpu, err} of `argv`; exits naming `what` and its stderr if it failed."""
    done = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{what} failed:\n{result['err']}")
    return result
