"""Long version of the hostile-input property test (issue #7.1).

    python tools/load/fuzz_rest.py                        # 20,000 random cases, at most 30 min
    python tools/load/fuzz_rest.py --examples 100000 --minutes 120

Runs tests/reliability/test_rest_fuzz.py::test_every_rest_route_survives_hostile_input with
random (not derandomized) generation and a larger budget, and prints the number of cases tried
and the status/error-code mix. A failure prints hypothesis' shrunk, reproducible example.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=20000)
    p.add_argument("--minutes", type=float, default=30.0)
    args = p.parse_args(argv)
    env = {**os.environ, "EXSIM_FUZZ_EXAMPLES": str(args.examples), "EXSIM_FUZZ_SECONDS": str(args.minutes * 60),
           "EXSIM_FUZZ_RANDOM": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", f"timeout={int(args.minutes * 60 + 600)}",
           "tests/reliability/test_rest_fuzz.py::test_every_rest_route_survives_hostile_input"]
    return subprocess.call(cmd, cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
