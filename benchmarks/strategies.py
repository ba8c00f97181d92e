"""Refreshing every template example on the demo dataset (300 stocks × 756 days).

Each example is the template really run through ``quantlab.engine.run`` over the last three
years of the data (what the ``strategies.example`` job does after loading the panel). A
first pass warms the Numba kernels and is reported apart; then ``--repeat`` timed passes,
each over every template, with a fresh expression cache per pass (as separate jobs have).
There is no peer for this figure; the floor (issue 14) is 5 s in total.

Run: .venv/bin/python benchmarks/strategies.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

from quantlab.engine.data.demo import demo_frame
from quantlab.engine.data.frame import frame_to_panel
from quantlab.engine.expr import DEFAULT_CACHE
from quantlab.engine.library import TEMPLATES
from quantlab.engine.library.examples import compute_example, template_spec


def one_pass(panel) -> dict[str, float]:
    DEFAULT_CACHE.clear()
    out = {}
    for key, template in TEMPLATES.items():
        if any(f not in panel.fields for f in template.requires_fields):
            continue
        t0 = time.perf_counter()
        compute_example(template_spec(template, "demo"), panel, benchmark="DEMO.IDX")
        out[key] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    panel = frame_to_panel(demo_frame())
    t0 = time.perf_counter()
    one_pass(panel)
    print(f"warm-up pass (Numba compile or cache load): {time.perf_counter() - t0:.2f} s")
    totals = []
    for _ in range(args.repeat):
        times = one_pass(panel)
        totals.append(sum(times.values()))
    for key, seconds in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"  {key:26s} {seconds * 1000:8.1f} ms")
    print(f"templates run: {len(times)} of {len(TEMPLATES)} (the rest need fields the demo lacks)")
    print("total per pass: " + ", ".join(f"{t:.3f} s" for t in totals)
          + f"  (floor 5 s; load average {os.getloadavg()[0]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
