"""sandlock_bench: `make bench`'s driver for sandlock 0.9.0, the closest peer
of `safesock run --kernel` (seccomp notification and Landlock), through its
Python API as its documentation shows it. Every sandbox has the whole file
system readable and TCP to 127.0.0.1:PORT allowed, nothing else.

    sandlock_bench.py run PORT ARGV...       ARGV in one sandbox: prints its
                                             standard output, exits with its status
    sandlock_bench.py spawn N PORT ARGV...   N x a new sandbox running ARGV;
                                             prints ns per run (Python's own
                                             start is not counted)
"""
import sys
import time

import sandlock


def sandbox(port):
    return sandlock.Sandbox(fs_readable=["/"], net_allow=[f"127.0.0.1:{port}"])


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        result = sandbox(sys.argv[2]).run(sys.argv[3:])
        sys.stdout.buffer.write(result.stdout)
        sys.stderr.buffer.write(result.stderr)
        return result.exit_code
    if len(sys.argv) >= 5 and sys.argv[1] == "spawn":
        n, port, argv = int(sys.argv[2]), sys.argv[3], sys.argv[4:]
        started = time.perf_counter_ns()
        for _ in range(n):
            result = sandbox(port).run(argv)
            if result.exit_code != 0:
                print(f"sandlock_bench: {argv[0]} exited {result.exit_code}", file=sys.stderr)
                return 1
        print(f"{(time.perf_counter_ns() - started) / n:.1f}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


sys.exit(main())
