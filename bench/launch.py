"""Run one command and print its wall time and peak memory as JSON: `python bench/launch.py CMD...`.

Linux carries a process's peak RSS across fork and exec, so a child forked straight from the runner (which
holds whole books in memory) would report the runner's size as its own. This launcher is a small process;
the command it starts inherits only its few MiB, and `os.wait4` then reports the command's own peak.
Standard library only, started without `site`, to stay small.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    cmd = sys.argv[1:]
    if not cmd:
        print("usage: launch.py CMD [ARGS...]", file=sys.stderr)
        return 2
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
    # Linux reports ru_maxrss in KiB.
    print(json.dumps({"returncode": proc.returncode, "wall_seconds": wall, "peak_rss_kib": usage.ru_maxrss}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
