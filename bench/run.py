"""`python bench/run.py [flags]` is `python -m bench [flags]`: the whole suite (see bench/suite.py).

Kept so the older command keeps working; the single throughput run it used to be is now the
suite's fixed window (`end_to_end.fixed` in the JSON).
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find `bench`
    runpy.run_module("bench", run_name="__main__", alter_sys=True)
