"""Write a CTA-style copy of some H.E.S.S. DL3 runs, for the xcheck configs named cta_*: the same events, with IRFs
of the classes CTA ships (GADF 0.2), read end to end by gammapy 1.0 and by pipe.

Usage: python3 scripts/xcheck/cta_store.py SRC_STORE DST_STORE {3gauss|3gauss0|king} [--caldb] OBS_ID...

What changes from the H.E.S.S. files:
- BKG: BKG_3D → BKG_2D (energy × offset) by gammapy's `Background3D.to_2d()` (the fov_lat = 0 row, fov_lon ≥ 0);
- PSF: PSF_TABLE → PSF_3GAUSS (`EnergyDependentMultiGaussPSF`) or PSF_KING (`PSFKing`), on their own (coarser)
  energy × offset grid, parameters smooth functions of energy and offset (plausible, not fitted); `3gauss0` is
  PSF_3GAUSS with its five lowest energy rows (centres 0.03–0.35 TeV) all zero, SIGMA_i = SCALE = AMPL_i = 0, as
  CTA's IRFs have below their energy range (here where the H.E.S.S. AEFF is not zero);
- AEFF_2D without LO_THRES/HI_THRES; EDISP_2D kept; IRF EXTNAMEs as CTA's ("EFFECTIVE AREA", "ENERGY DISPERSION",
  "POINT SPREAD FUNCTION", "BACKGROUND"), no OBS_ID in the IRF headers;
- with --caldb, the IRF rows' FILE_DIR is $CALDB/data/cta/hess-as-cta/bcf (CTA DC1's index form; export
  CALDB=DST_STORE/caldb), else caldb/data/cta/hess-as-cta/bcf relative to the index;
- layout as CTA's DC1: EVENTS + GTI in data/<obs>.fits; the IRFs in caldb/..., one IRF file shared by the runs of
  SHARED_IDS (taken from the first of them: hdu-index rows of several runs point to it), one IRF file per run for
  the others;
- EVENTS with CTA's column set (EVENT_ID, TIME, RA, DEC, DETX, DETY, ENERGY, MC_ID), TELESCOP = CTA;
- obs-index with a CTA-like subset of columns; hdu-index with HDU_CLASS events, gti, aeff_2d, edisp_2d,
  psf_3gauss/psf_king, bkg_2d.
"""
import os
import sys

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from gammapy.irf import Background3D, EnergyDependentMultiGaussPSF, PSFKing
from gammapy.maps import MapAxis

# The Crab runs share one IRF file (CTA DC1 layout); the other runs get one IRF file each.
SHARED_IDS = [23523, 23526, 23559, 23592]

src, dst, variant = sys.argv[1], sys.argv[2], sys.argv[3]
caldb = "--caldb" in sys.argv[4:]
ids = [int(i) for i in sys.argv[4:] if i != "--caldb"]
assert variant in ("3gauss", "3gauss0", "king"), variant
os.makedirs(os.path.join(dst, "data"), exist_ok=True)
irf_dir = "caldb/data/cta/hess-as-cta/bcf"
os.makedirs(os.path.join(dst, irf_dir), exist_ok=True)

src_hdu = Table.read(os.path.join(src, "hdu-index.fits.gz"))
src_obs = Table.read(os.path.join(src, "obs-index.fits.gz"))


def src_file(obs_id):
    row = src_hdu[(src_hdu["OBS_ID"] == obs_id) & (src_hdu["HDU_TYPE"] == "events")][0]
    return os.path.join(src, row["FILE_DIR"], row["FILE_NAME"])


# --- parametric PSFs -------------------------------------------------------------------------------------------------
energy_true = MapAxis.from_energy_bounds(0.02, 150, nbin=14, unit="TeV", name="energy_true")
offset = MapAxis.from_edges([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], unit="deg", name="offset")
e = energy_true.center.to_value("TeV")[:, None]
o = offset.center.to_value("deg")[None, :]
sigma_1 = 0.045 * e**-0.18 * (1 + 0.12 * o)  # deg
if variant.startswith("3gauss"):
    data = np.zeros(
        energy_true.center.shape + offset.center.shape,
        dtype=[(n, np.float32) for n in EnergyDependentMultiGaussPSF.required_parameters],
    )
    data["sigma_1"] = sigma_1
    data["sigma_2"] = 2.3 * sigma_1 * (1 + 0.05 * o)
    data["sigma_3"] = 5.0 * sigma_1
    data["scale"] = 1 / (2 * np.pi * np.deg2rad(sigma_1) ** 2)
    data["ampl_2"] = 0.12 + 0.03 * o + 0.02 * np.log10(e)
    data["ampl_3"] = 0.01 + 0.0 * o
    if variant == "3gauss0":
        for name in data.dtype.names:
            data[name][:5] = 0  # the rows centred below 0.4 TeV
    psf = EnergyDependentMultiGaussPSF(
        axes=[energy_true, offset],
        data=data,
        unit={"sigma_1": u.deg, "sigma_2": u.deg, "sigma_3": u.deg, "scale": u.Unit("sr-1"), "ampl_2": u.Unit(""),
              "ampl_3": u.Unit("")},
    )
else:
    data = np.zeros(energy_true.center.shape + offset.center.shape,
                    dtype=[(n, np.float32) for n in PSFKing.required_parameters])
    data["sigma"] = 0.8 * sigma_1
    data["gamma"] = np.clip(1.8 + 0.35 * np.log10(e) - 0.1 * o, 1.2, None)
    psf = PSFKing(axes=[energy_true, offset], data=data, unit={"gamma": u.Unit(""), "sigma": u.deg})


def irf_hdus(obs_id):
    """The CTA-style IRF HDUs made from run obs_id's."""
    with fits.open(src_file(obs_id)) as hdus:
        aeff = hdus["AEFF"].copy()
        edisp = hdus["EDISP"].copy()
        bkg3d = Background3D.from_table(Table.read(hdus["BKG"]))
    for h in (aeff, edisp):
        for key in ("LO_THRES", "HI_THRES", "OBS_ID", "TELPAT", "CONFIG", "AZIMUTH", "ZENITH"):
            h.header.remove(key, ignore_missing=True)
        h.header["TELESCOP"] = "CTA"
    aeff.name = "EFFECTIVE AREA"
    edisp.name = "ENERGY DISPERSION"
    bkg = bkg3d.to_2d().to_table_hdu()
    bkg.name = "BACKGROUND"
    p = psf.to_table_hdu()
    p.name = "POINT SPREAD FUNCTION"
    # gammapy 1.0's ParametricPSF.to_table writes no HDUCLASn keywords (IRF.to_table does): CTA's files have them.
    p.header.update({"HDUCLASS": "GADF", "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
                     "HDUVERS": "0.2", "HDUCLAS1": "RESPONSE", "HDUCLAS2": "RPSF", "HDUCLAS3": "FULL-ENCLOSURE",
                     "HDUCLAS4": psf.tag.upper()})
    for h in (bkg, p):
        h.header["TELESCOP"] = "CTA"
    return [aeff, edisp, p, bkg]


irf_files = {}
shared = [i for i in ids if i in SHARED_IDS]
if shared:
    name = "irf_shared.fits"
    fits.HDUList([fits.PrimaryHDU(), *irf_hdus(shared[0])]).writeto(os.path.join(dst, irf_dir, name), overwrite=True)
    irf_files.update({i: name for i in shared})
for i in ids:
    if i not in irf_files:
        name = f"irf_{i:06d}.fits"
        fits.HDUList([fits.PrimaryHDU(), *irf_hdus(i)]).writeto(os.path.join(dst, irf_dir, name), overwrite=True)
        irf_files[i] = name

index_irf_dir = "$CALDB/data/cta/hess-as-cta/bcf" if caldb else irf_dir

# --- events and GTI --------------------------------------------------------------------------------------------------
rows = []
for i in ids:
    with fits.open(src_file(i)) as hdus:
        ev = Table.read(hdus["EVENTS"])
        gti = fits.BinTableHDU(hdus["GTI"].data, hdus["GTI"].header, name="GTI")
        header = hdus["EVENTS"].header
    pnt = SkyCoord(header["RA_PNT"], header["DEC_PNT"], unit="deg")
    fov = SkyCoord(ev["RA"], ev["DEC"], unit="deg").transform_to(pnt.skyoffset_frame())
    out = Table()
    out["EVENT_ID"] = np.asarray(ev["EVENT_ID"], dtype=np.uint32)
    out["TIME"] = ev["TIME"]
    out["RA"] = ev["RA"]
    out["DEC"] = ev["DEC"]
    out["DETX"] = fov.lon.wrap_at(180 * u.deg).to(u.deg).astype(np.float32)
    out["DETY"] = fov.lat.to(u.deg).astype(np.float32)
    out["ENERGY"] = ev["ENERGY"]
    out["MC_ID"] = np.ones(len(ev), dtype=np.int32)
    events = fits.BinTableHDU(out, name="EVENTS")
    skip = {"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS", "EXTNAME"}
    for card in header.cards:
        if card.keyword not in skip and not card.keyword.startswith(("TTYPE", "TFORM", "TUNIT", "TDIM", "TZERO")):
            events.header.append(card)
    events.header["TELESCOP"] = "CTA"
    events.header["INSTRUME"] = "hess-as-cta"
    name = f"events_{i:06d}.fits"
    fits.HDUList([fits.PrimaryHDU(), events, gti]).writeto(os.path.join(dst, "data", name), overwrite=True)
    rows += [
        (i, "events", "events", "data", name, "EVENTS"),
        (i, "gti", "gti", "data", name, "GTI"),
        (i, "aeff", "aeff_2d", index_irf_dir, irf_files[i], "EFFECTIVE AREA"),
        (i, "edisp", "edisp_2d", index_irf_dir, irf_files[i], "ENERGY DISPERSION"),
        (i, "psf", f"psf_{variant[:6] if variant.startswith('3gauss') else variant}", index_irf_dir, irf_files[i], "POINT SPREAD FUNCTION"),
        (i, "bkg", "bkg_2d", index_irf_dir, irf_files[i], "BACKGROUND"),
    ]

hdu_index = Table(rows=rows, names=["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"])
hdu_index.meta.update({"HDUCLASS": "GADF", "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
                       "HDUVERS": "0.2", "HDUCLAS1": "INDEX", "HDUCLAS2": "HDU", "EXTNAME": "HDU_INDEX"})
hdu_index.write(os.path.join(dst, "hdu-index.fits.gz"), overwrite=True)

keep = ["OBS_ID", "RA_PNT", "DEC_PNT", "ZEN_PNT", "ALT_PNT", "AZ_PNT", "ONTIME", "LIVETIME", "DEADC", "TSTART",
        "TSTOP", "DATE-OBS", "TIME-OBS", "DATE-END", "TIME-END", "N_TELS", "OBJECT", "EVENT_COUNT"]
obs_index = src_obs[np.isin(src_obs["OBS_ID"], ids)][keep]
obs_index.meta = {k: v for k, v in src_obs.meta.items() if k.startswith(("MJDREF", "TIME", "HDU", "TELESCOP"))}
obs_index.meta.update({"HDUCLAS1": "INDEX", "HDUCLAS2": "OBS", "TELESCOP": "CTA", "EXTNAME": "OBS_INDEX"})
obs_index.write(os.path.join(dst, "obs-index.fits.gz"), overwrite=True)
print(f"{len(ids)} runs ({variant}) written to {dst}; IRF files: {sorted(set(irf_files.values()))}")
