"""Run gammapy 1.0's 3D excess-map analysis on a config and print reference numbers (one JSON document), optionally
comparing them with pipe's products.

Usage:
    GAMMAPY_DATA=../shared/data python3 scripts/gammapy_excess_map.py CONFIG.yaml [PIPE_PRODUCTS_DIR]

This is how the reference numbers in pipe's tests for non-Crab configs were obtained (Debian python3-gammapy 1.0).
Printed: selected obs_ids, per-run counts, per-bin stacked counts, sums of the stacked maps, and the excess-map
peak with a few sample pixels. With PIPE_PRODUCTS_DIR (the `--out` of `pipe build excess_map`), every map is also
compared with pipe's FITS product: counts must be identical; the others are reported as max abs/rel differences,
checked against the tolerances of science.md §9.
"""
import json
import os
import sys

import numpy as np
from gammapy.analysis import Analysis, AnalysisConfig

config = AnalysisConfig.read(sys.argv[1])
config.general.outdir = "."
analysis = Analysis(config)
analysis.get_observations()
analysis.get_datasets()
analysis.get_excess_map()

# With stack: false gammapy makes one dataset per run; the excess map needs exactly one, which pipe writes too.
stacked = analysis.datasets[0] if config.datasets.stack or len(analysis.datasets) == 1 else None
# An unstacked ring-background run is a MapDatasetOnOff: its background map is alpha * counts_off (`background`),
# while its npred_background() is WStat's profile estimate, which mixes in the ON counts. pipe writes the first.
background_map = None
if stacked is not None:
    background_map = stacked.background if stacked.tag == "MapDatasetOnOff" else stacked.npred_background()
maps = analysis.excess_map
sqrt_ts = maps["sqrt_ts"].data
# A map masked everywhere (e.g. every run's FoV norm refused) is all NaN: its "peak" is pixel 0.
peak = np.unravel_index(np.nanargmax(sqrt_ts) if np.isfinite(sqrt_ts).any() else 0, sqrt_ts.shape)


def pixel(name, x, y):
    # flux in cm-2 s-1 as pipe writes it: gammapy keeps the config's energy unit (GeV axes: GeV / (cm2 s TeV)).
    if name == "flux":
        return float(maps[name].quantity[0, y, x].to_value("cm-2 s-1"))
    return float(maps[name].data[0, y, x])


out = {
    "observations": [int(o.obs_id) for o in analysis.observations],
    "stack": bool(config.datasets.stack),
    "peak_xy": [int(peak[2]), int(peak[1])],
    "peak": {n: pixel(n, int(peak[2]), int(peak[1])) for n in ("npred", "npred_background", "sqrt_ts", "flux")},
    "samples": {
        f"{x},{y}": {n: pixel(n, x, y) for n in ("npred", "npred_background", "sqrt_ts")}
        for (x, y) in ((0, 0), (sqrt_ts.shape[2] // 3, sqrt_ts.shape[1] // 4))
    },
    "sums": {n: float(np.nansum(maps[n].data.astype(np.float64))) for n in ("npred", "npred_excess", "sqrt_ts")},
}
if stacked is not None:
    out["counts_per_bin"] = [int(v) for v in stacked.counts.data.sum(axis=(1, 2))]
    out["background_sum"] = float(background_map.data.astype(np.float64).sum())
    out["exposure_sum"] = float(stacked.exposure.data.astype(np.float64).sum())
print(json.dumps(out, indent=1))

if len(sys.argv) > 2 and stacked is not None:
    from gammapy.maps import Map

    product = sys.argv[2]
    failures = []
    pairs = {
        "counts": stacked.counts,
        # An unstacked run keeps its FoV norm in its background model; the stack (and pipe) apply it to the map.
        "background": background_map,
        "exposure": stacked.exposure,
        "correlated_counts": maps["npred"],
        "correlated_background": maps["npred_background"],
        "excess": maps["npred_excess"],
        "sqrt_ts": maps["sqrt_ts"],
        "flux": maps["flux"],
        "ts": maps["ts"],
        "norm": maps["norm"],
        "norm_err": maps["norm_err"],
        "flux_err": maps["flux_err"],
        # The stacked (or the one run's) safe mask, 1 = safe: compared exactly.
        "mask_safe": stacked.mask_safe,
    }
    # Optional products (selection_optional), compared when pipe wrote them (a pipeline declaring these outputs).
    optional = {}
    for name in ("norm_errn", "norm_errp", "norm_ul", "flux_errn", "flux_errp", "flux_ul"):
        if name.split("_")[-1] not in maps.available_quantities and f"norm_{name.split('_')[-1]}" not in (
            maps.available_quantities
        ):
            continue
        if os.path.exists(f"{product}/{name}.fits.gz"):
            optional[name] = maps[name]
    pairs.update(optional)
    # science.md §9: (abs, rel) tolerances; a pixel passes when within either.
    tolerances = {
        "counts": (0, 0),
        "background": (0, 1e-5),
        "exposure": (0, 1e-6),
        "correlated_counts": (0, 0),
        "correlated_background": (1e-4, 0),
        # and one float32 step: gammapy holds the excess in float32, whose spacing passes 1e-4 above an excess of 2048
        "excess": (1e-4, 1.2e-7),
        "sqrt_ts": (3e-3, 3e-5),
        "flux": (0, 1e-4),  # abs tolerance set below
        "ts": (1e-3, 3e-5),  # abs scaled with the count level below
        "norm": (1e-5, 1e-4),  # §9 (abs set below, as for flux)
        "norm_err": (1e-5, 1e-4),  # n_sigma·sqrt(n_on)/R_c: R_c's tolerance
        "flux_err": (0, 1e-4),
        # §9: errn/errp 3e-4 relative (float64 target level), ul 1e-5; abs 1e-5 of norm near 0 as for flux.
        "norm_errn": (1e-5, 3e-4),
        "norm_errp": (1e-5, 3e-4),
        "norm_ul": (1e-5, 1e-5),
        "flux_errn": (0, 3e-4),
        "flux_errp": (0, 3e-4),
        "flux_ul": (0, 1e-5),
        "mask_safe": (0, 0),
    }
    for name, ref in pairs.items():
        if name in ("ts", "norm", "norm_err", "flux_err") and not os.path.exists(f"{product}/{name}.fits.gz"):
            continue  # a pipeline that declares no such output
        ours_map = Map.read(f"{product}/{name}.fits.gz")
        ours = ours_map.data.astype(np.float64)
        # gammapy keeps the config's units (an energy axis in GeV gives a flux in GeV / (cm2 s TeV)); pipe writes
        # fixed units: compare in pipe's.
        theirs = ref.quantity.to_value(ours_map.unit).astype(np.float64)
        if ours.shape != theirs.shape:
            failures.append(f"{name}: shape {ours.shape} != {theirs.shape}")
            continue
        diff = np.abs(ours - theirs)
        scale = np.abs(theirs)
        abs_tol, rel_tol = tolerances[name]
        # gammapy computes the correlation and the Cash statistic in float32: its rounding noise grows with the
        # count level. §9's absolute tolerances are for the Crab (μ_b ≤ 18); scale them with the counts here.
        level = max(1.0, float(np.nanmax(maps["npred_background"].data)) / 18)
        if name in ("correlated_background", "excess", "ts"):
            abs_tol *= level
        if name == "sqrt_ts":
            # Compare TS (= sqrt_ts²): 1e-3 absolute per §9, scaled with the counts.
            diff = np.abs(ours * np.abs(ours) - theirs * np.abs(theirs))
            abs_tol = 1e-3 * level
            scale = theirs * theirs
            rel_tol = 6e-5
        if name.startswith(("flux", "norm")):
            # §9: 1e-5 absolute on norm near 0 (flux = norm × the reference flux of its energy bin); where the
            # reco exposure R_c is small (low energies), the excess's own tolerance (gammapy's float32 FFT noise)
            # divided by R_c bounds what that noise does to the norm.
            norm = maps["norm"].data.astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                r_c = np.abs(maps["npred_excess"].data.astype(np.float64) / norm)
                ref = np.ones((norm.shape[0], 1, 1))
                if name.startswith("flux"):
                    flux = maps["flux"].data.astype(np.float64)
                    for k in range(norm.shape[0]):
                        ok = norm[k] != 0
                        ref[k] = np.nanmedian(np.abs(flux[k][ok] / norm[k][ok]))
                abs_tol = ref * np.fmax(1e-5, 1e-4 * level / r_c)  # fmax: r_c is NaN where excess = norm = 0
        # Infinities: equal ones agree (their difference is NaN), and one against a finite value never does (the
        # relative test read inf <= inf as agreement).
        same_inf = np.isinf(ours) & np.isinf(theirs) & (np.sign(ours) == np.sign(theirs))
        finite_both = np.isfinite(ours) & np.isfinite(theirs)
        bad = ~(
            (finite_both & ((diff <= abs_tol) | (diff <= rel_tol * scale)))
            | (np.isnan(ours) & np.isnan(theirs))
            | same_inf
        )
        if name.startswith(("flux", "norm")):
            # Where the kernel covers no exposure (pixels beyond the AEFF offset bound whose background, a square
            # in FoV coordinates, is still > 0), R_c is 0: pipe's norm is ±inf or NaN, gammapy's is its float32
            # FFT noise (R_c ~ 1e-8 of its maximum) and means nothing. Counted, not compared.
            with np.errstate(invalid="ignore", divide="ignore"):
                r_c = np.abs(maps["npred_excess"].data.astype(np.float64) / maps["norm"].data.astype(np.float64))
            no_exposure = (r_c < 1e-6 * np.nanmax(r_c)) & ~np.isfinite(ours)
            if no_exposure.any():
                bad &= ~no_exposure
                print(f"{name}: {int(no_exposure.sum())} pixels without exposure in the kernel (R_c ≈ 0) not compared",
                      file=sys.stderr)
        rel = np.nanmax(np.where(scale > 0, diff / np.where(scale > 0, scale, 1), 0))
        print(f"{name}: max abs {np.nanmax(diff):.3g}, max rel {rel:.3g}, out of tolerance {int(bad.sum())}",
              file=sys.stderr)
        if bad.any():
            failures.append(f"{name}: {int(bad.sum())} pixels out of tolerance")
    # The stacked IRF maps too, on the datasets made above, when asked (scripts/xcheck/run.sh: PIPE_XCHECK_STACKED
    # names pipe's stacked dataset); a mismatch there alone exits 3.
    irf_failures = []
    if os.environ.get("PIPE_XCHECK_STACKED"):
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "xcheck"))
        from irf_maps_compare import compare_irf_maps

        irf_lines, irf_failures = compare_irf_maps(stacked, os.environ["PIPE_XCHECK_STACKED"])
        for line in irf_lines:
            print(line, file=sys.stderr)
        if irf_failures:
            print("IRF MAPS MISMATCH: " + "; ".join(irf_failures), file=sys.stderr)
    if failures:
        print("MISMATCH: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)
    # §9 as applied above: its absolute bounds scaled with the counts (they are the Crab's), sqrt_ts compared as TS.
    print("all maps within science.md §9 tolerances (absolute bounds scaled with the counts; sqrt_ts as TS)", file=sys.stderr)
    if irf_failures:
        sys.exit(3)
