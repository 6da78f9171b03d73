"""Make the shipped Crab subset of H.E.S.S. DL3 DR1: 4 runs, with index files filtered to them.

Run once from this folder with astropy installed:  python make_subset.py /path/to/hess-dl3-dr1
It copies the run files and writes hdu-index/obs-index tables holding only the shipped runs, so the
subset is a complete, valid data store (gammapy's DataStore.from_dir opens it).
"""
import shutil
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

RUNS = [23523, 23526, 23559, 23592]
src = Path(sys.argv[1])
dst = Path(__file__).parent / "hess-dl3-dr1"

for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
    with fits.open(src / name) as hdul:
        table = hdul[1]
        keep = np.isin(table.data["OBS_ID"], RUNS)
        out = fits.BinTableHDU(data=table.data[keep], header=table.header)
        fits.HDUList([fits.PrimaryHDU(header=hdul[0].header), out]).writeto(dst / name, overwrite=True)

for run in RUNS:
    fname = f"hess_dl3_dr1_obs_id_{run:06d}.fits.gz"
    shutil.copyfile(src / "data" / fname, dst / "data" / fname)
