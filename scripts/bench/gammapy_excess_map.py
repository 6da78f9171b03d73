"""The gammapy 1.0 side of `npm run bench:science`: what a gammapy user runs for a 3D excess map.

Usage: python gammapy_excess_map.py CONFIG.yaml OUTDIR
Prints one JSON line with the stage times (get_observations, get_datasets, get_excess_map) and a few numbers
to check that both tools did the same work. gammapy's own CLI only does 1D, so this is the script a user writes.
"""
import json
import sys
import time

t_start = time.perf_counter()
from gammapy.analysis import Analysis, AnalysisConfig  # noqa: E402

t_import = time.perf_counter() - t_start

config = AnalysisConfig.read(sys.argv[1])
config.general.outdir = sys.argv[2]
analysis = Analysis(config)
times = {"import": t_import}
t = time.perf_counter()
analysis.get_observations()
times["get_observations"] = time.perf_counter() - t
t = time.perf_counter()
analysis.get_datasets()
times["get_datasets"] = time.perf_counter() - t
t = time.perf_counter()
analysis.get_excess_map()
times["get_excess_map"] = time.perf_counter() - t
sqrt_ts = analysis.excess_map["sqrt_ts"].data
counts = analysis.datasets[0].counts.data
print(json.dumps({
    "times": times,
    "observations": len(analysis.observations),
    "counts": float(counts.sum()),
    "max_sqrt_ts": float(sqrt_ts[sqrt_ts == sqrt_ts].max()),
}))
