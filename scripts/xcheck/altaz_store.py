"""Write a copy of a DL3 store whose runs' BKG HDUs say FOVALIGN = ALTAZ (background aligned with alt/az), for the
xcheck configs named altaz_*: the same data, evaluated in the alt/az frame by gammapy 1.0 and by pipe.

Usage: python3 scripts/xcheck/altaz_store.py SRC_STORE DST_STORE OBS_ID... (the index files are copied whole; only
the listed runs' files are written, which is all an obs_cone around them selects).
"""
import os
import shutil
import sys

from astropy.io import fits
from astropy.table import Table

src, dst, ids = sys.argv[1], sys.argv[2], {int(i) for i in sys.argv[3:]}
os.makedirs(dst, exist_ok=True)
for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
index = Table.read(os.path.join(src, "hdu-index.fits.gz"))
files = {(row["FILE_DIR"], row["FILE_NAME"]) for row in index if row["OBS_ID"] in ids}
for file_dir, file_name in sorted(files):
    with fits.open(os.path.join(src, file_dir, file_name)) as hdus:
        for hdu in hdus:
            if hdu.header.get("HDUCLAS2") == "BKG" and hdu.header.get("HDUCLAS4") == "BKG_3D":
                hdu.header["FOVALIGN"] = "ALTAZ"
        os.makedirs(os.path.join(dst, file_dir), exist_ok=True)
        hdus.writeto(os.path.join(dst, file_dir, file_name), overwrite=True)
print(f"{len(files)} files written to {dst}")
