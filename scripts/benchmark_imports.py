"""Start-up benchmark: what `import tracker.cli` and `python -m tracker --help` cost before
any work, against a bare `import sqlalchemy` measured in the same run.

    .venv/bin/python scripts/benchmark_imports.py [--repeat 7]

Each case runs in a fresh interpreter, the cases interleaved and repeated; the figure is
the median CPU time (user + system) of the child process minus the median of a bare
`python -c pass`, so the interpreter's own start-up cancels out. CPU time rather than wall
time because these machines are shared: waiting for a core is not the command's cost.
Bytecode is cached (in a temporary folder, not the worktree) as an installed program's
would be, even when PYTHONDONTWRITEBYTECODE is set, so compiling our modules is not counted.
Goal (issue 10): `import tracker.cli` at most 0.1x what it cost before, which was about
13x the sqlalchemy baseline.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "import sqlalchemy (baseline)": ["-c", "import sqlalchemy"],
    "import tracker.cli": ["-c", "import tracker.cli"],
    "python -m tracker --help": ["-m", "tracker", "--help"],
}


def _cpu_seconds(args: list[str], env: dict[str, str]) -> float:
    """CPU time of one fresh interpreter running `args`, from the children's usage counters."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    samples: dict[str, list[float]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        for case in CASES.values():  # warm the file cache and compile the bytecode once
            _cpu_seconds(case, env)
        for _ in range(args.repeat):
            for name, case in CASES.items():
                samples[name].append(_cpu_seconds(case, env))

    bare = statistics.median(samples["python -c pass"])
    cost = {name: statistics.median(s) - bare for name, s in samples.items()}
    baseline = cost["import sqlalchemy (baseline)"]
    print(f"CPU time over a bare interpreter ({bare * 1000:.0f} ms), median of {args.repeat}:")
    for name in list(CASES)[1:]:
        print(f"  {name:<30} {cost[name] * 1000:8.0f} ms   {cost[name] / baseline:6.2f}x baseline")


if __name__ == "__main__":
    main()
