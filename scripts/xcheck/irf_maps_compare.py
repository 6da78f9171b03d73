"""Compare pipe's stacked IRF maps (PSF, its exposure, EDISP kernel, its exposure) with gammapy 1.0's, which
scripts/gammapy_excess_map.py does not (the excess map does not depend on the PSF): what the cta_* configs' PSF_3GAUSS
and PSF_KING variants need checked.

Usage: python3 scripts/xcheck/irf_maps_compare.py CONFIG.yaml PIPE_STACKED_FITS (build/excess_map/stacked.fits)
(runs gammapy's reduction itself); scripts/gammapy_excess_map.py calls compare_irf_maps on the datasets it already
made when PIPE_XCHECK_STACKED names pipe's stacked dataset, as run.sh does.

Prints one line per map (max abs and max relative difference over the values above 1e-6 of the map's maximum) and
exits 1 when one exceeds 1e-4 relative (PSF, EDISP) or 1e-6 relative (their exposures), or a map is missing.
"""
import sys

import numpy as np
from astropy.io import fits


def compare_irf_maps(stacked, pipe_stacked_fits):
    """Lines describing each IRF map's agreement, and the failures (empty when they agree)."""
    ours = fits.open(pipe_stacked_fits)
    pairs = {
        "PSF": (stacked.psf.psf_map if stacked.psf else None, 1e-4),
        "PSF_EXPOSURE": (stacked.psf.exposure_map if stacked.psf else None, 1e-6),
        "EDISP": (stacked.edisp.edisp_map if stacked.edisp else None, 1e-4),
        "EDISP_EXPOSURE": (stacked.edisp.exposure_map if stacked.edisp else None, 1e-6),
    }
    lines, failures = [], []
    for name, (ref, tol) in pairs.items():
        if ref is None or name not in ours:
            failures.append(f"{name}: missing ({'gammapy' if ref is None else 'pipe'})")
            continue
        a = np.asarray(ours[name].data, dtype=np.float64)
        b = np.asarray(ref.data, dtype=np.float64)
        if a.shape != b.shape:
            b = b.reshape(a.shape) if b.size == a.size else b
        if a.shape != b.shape:
            failures.append(f"{name}: shape {a.shape} != {b.shape}")
            continue
        if name == "PSF":
            # pipe's PSF map in sr-1, as gammapy's
            b = ref.quantity.to_value("sr-1").reshape(a.shape)
        diff = np.abs(a - b)
        big = np.abs(b) > 1e-6 * np.nanmax(np.abs(b))
        rel = np.where(big, diff / np.where(big, np.abs(b), 1), 0)
        worst = np.unravel_index(np.nanargmax(rel), rel.shape)
        small_abs = np.nanmax(np.where(big, 0, diff)) / np.nanmax(np.abs(b))
        lines.append(f"{name}: shape {a.shape}, max rel {np.nanmax(rel):.3g} at {tuple(int(i) for i in worst)} "
                     f"(pipe {a[worst]:.7g}, gammapy {b[worst]:.7g}); below 1e-6 of max: max abs/max {small_abs:.3g}")
        if np.nanmax(rel) > tol:
            failures.append(f"{name}: max rel {np.nanmax(rel):.3g} > {tol}")
        if small_abs > tol:
            where = np.unravel_index(np.nanargmax(np.where(big, 0, diff)), diff.shape)
            failures.append(f"{name}: where gammapy's is ~0, pipe's is up to {small_abs:.3g} of the map's maximum "
                            f"(at {tuple(int(i) for i in where)}: pipe {a[where]:.7g}, gammapy {b[where]:.7g})")
    return lines, failures


if __name__ == "__main__":
    from gammapy.analysis import Analysis, AnalysisConfig

    config = AnalysisConfig.read(sys.argv[1])
    config.general.outdir = "."
    analysis = Analysis(config)
    analysis.get_observations()
    analysis.get_datasets()
    lines, failures = compare_irf_maps(analysis.datasets[0], sys.argv[2])
    print("\n".join(lines))
    if failures:
        print("IRF MAPS MISMATCH: " + "; ".join(failures))
        sys.exit(1)
    print("IRF maps agree")
