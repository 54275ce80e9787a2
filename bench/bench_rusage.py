"""Run a command and print its own CPU time (user + sys) and wall time.

Usage: python3 bench/bench_rusage.py CMD [ARG...]   prints "wall=... cpu=..."
The command is started with posix_spawn and reaped with wait4, so the figure is
exactly the child's rusage: no fork of this interpreter is charged to it.
Its standard output is discarded; a non-zero exit fails.
"""
import os
import shutil
import sys
import time


def main():
    exe = shutil.which(sys.argv[1]) or sys.argv[1]
    devnull = os.open(os.devnull, os.O_WRONLY)
    t = time.time()
    pid = os.posix_spawn(exe, sys.argv[1:], os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.time() - t
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit("bench_rusage: %s exited with %d" % (sys.argv[1], rc))
    print("wall=%.3f cpu=%.3f" % (wall, ru.ru_utime + ru.ru_stime))


if __name__ == "__main__":
    main()
