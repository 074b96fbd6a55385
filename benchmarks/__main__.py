"""`make bench`: run every benchmarks/bench_*.py module's `main()` in turn (or those named on the command line)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    from daipin import bootstrap

    bootstrap.configure()  # as the server and the command line do
    wanted = set(sys.argv[1:])
    here = Path(__file__).parent
    for mod in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not mod.name.startswith("bench_"):
            continue
        if wanted and mod.name not in wanted and mod.name.removeprefix("bench_") not in wanted:
            continue
        print(f"\n=== {mod.name} ===", flush=True)
        importlib.import_module(f"benchmarks.{mod.name}").main()


if __name__ == "__main__":
    main()
