#!/bin/bash
# Cross-check pipe against gammapy 1.0 on the configs in scripts/xcheck/configs (or the ones named): each is built by
# `pipe build excess_map --config C --out DIR` and run through gammapy by scripts/gammapy_excess_map.py, which compares
# every map with pipe's (counts identical, the others within science.md §9) and exits 1 on a mismatch.
#
#   GAMMAPY_DATA=../shared/data bash scripts/xcheck/run.sh [NAME...]
#
# Needs the full H.E.S.S. DR1 release under $GAMMAPY_DATA and Debian's python3-gammapy (or PIPE_GAMMAPY_PYTHON).
# Masks the configs name are in scripts/xcheck/masks ($PIPE_XCHECK_DIR/masks). Writes into a temporary workspace and
# prints one line per config; the logs stay there. Expected results are in scripts/xcheck/README.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export PIPE_XCHECK_DIR="$here"
: "${GAMMAPY_DATA:?set GAMMAPY_DATA to the folder holding hess-dl3-dr1}"
py=${PIPE_GAMMAPY_PYTHON:-/usr/bin/python3}
work=$(mktemp -d /tmp/pipe-xcheck-XXXXXX)
cp "$repo/pipe.yaml" "$work/" && cp -r "$repo/pipelines" "$work/"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$here"/configs/*.yaml; do names+=("$(basename "$f" .yaml)"); done
fi
echo "workspace: $work"
# The altaz_* configs read the Crab runs with their backgrounds relabelled FOVALIGN = ALTAZ, written here once.
if printf '%s\n' "${names[@]}" | grep -q '^altaz_'; then
  export PIPE_XCHECK_ALTAZ_STORE="$work/altaz-store"
  "$py" "$here/altaz_store.py" "$GAMMAPY_DATA/hess-dl3-dr1" "$PIPE_XCHECK_ALTAZ_STORE" 23523 23526 23559 23592 >/dev/null 2>&1 ||
    echo "altaz store: could not be written (astropy?); the altaz_* configs will fail"
fi
# The cta_* configs read four Crab runs (sharing one IRF file) and four PKS 2155-304 runs rewritten with CTA's IRF
# classes (BKG_2D, PSF_3GAUSS or PSF_KING, AEFF_2D without thresholds) and CTA's DC1 layout (cta_store.py), written
# here once: PSF_3GAUSS; PSF_3GAUSS with zero rows below 0.4 TeV; PSF_KING with $CALDB in the index's FILE_DIR.
if printf '%s\n' "${names[@]}" | grep -q '^cta_'; then
  export PIPE_XCHECK_CTA_3GAUSS="$work/cta-store-3gauss" PIPE_XCHECK_CTA_3GAUSS0="$work/cta-store-3gauss0"
  export PIPE_XCHECK_CTA_KING="$work/cta-store-king" CALDB="$work/cta-store-king/caldb"
  for v in 3gauss 3gauss0 king; do
    d="$work/cta-store-$v"
    "$py" "$here/cta_store.py" "$GAMMAPY_DATA/hess-dl3-dr1" "$d" $v $([ $v = king ] && echo --caldb) \
      23523 23526 23559 23592 33787 33788 33789 33790 >/dev/null 2>&1 ||
      echo "cta store ($v): could not be written (gammapy?); the cta_* configs will fail"
  done
fi
for n in "${names[@]}"; do
  c="$here/configs/$n.yaml"
  out="$work/out/$n"
  (cd "$work" && "$repo/packages/cli/bin/pipe" build excess_map --config "$c" --out "$out" >"$work/$n.pipe.log" 2>&1)
  p=$?
  # cta_* (or any with PIPE_XCHECK_IRF_MAPS=1): the stacked PSF and EDISP maps too (the excess map does not depend on
  # the PSF), compared on the same gammapy reduction; exit 3 is a mismatch there only.
  stacked=""
  if [[ ( $n == cta_* || -n ${PIPE_XCHECK_IRF_MAPS:-} ) && $p -eq 0 ]]; then stacked="$work/build/excess_map/stacked.fits"; fi
  (cd "$work" && PIPE_XCHECK_STACKED="$stacked" "$py" "$repo/scripts/gammapy_excess_map.py" "$c" "$out" >"$work/$n.gammapy.json" 2>"$work/$n.gammapy.err")
  g=$?
  irf=""
  if [ $g -eq 3 ]; then irf=" + $(grep -m1 'IRF MAPS MISMATCH' "$work/$n.gammapy.err")"; g=0; fi
  if [ $p -ne 0 ]; then verdict="pipe failed (exit $p): $(grep -m1 -i 'error' "$work/$n.pipe.log")"
  elif [ $g -ne 0 ]; then verdict="MISMATCH or gammapy failed: $(tail -c 300 "$work/$n.gammapy.err" | tr '\n' ' ')"
  else verdict="agree"; fi
  verdict="$verdict$irf"
  echo "$n: $verdict"
done
