/* Plain scalar C baselines for scripts/bench/kernels.mjs (gcc -O3 -march=native):
 *   exact   the full binning kernel with libm trig: RA/Dec → oblique CAR pixel, half-even rounding,
 *           log-energy bin, accumulate (science spec §4.1), one core;
 *   accum   accumulation only (precomputed pixel indices → counts), one core;
 *   read    memory bandwidth: sum the same bytes the kernel reads (RA, Dec, E as float32).
 * Usage: bin N REPEATS → one line per case: "<case> <median seconds>". Events are synthetic, as in the JS
 * bench (same generator is not needed: the cost does not depend on the values). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmp); return v[n / 2]; }

enum { NX = 100, NY = 100, NE = 10 };

static void bin_exact(const float *ra, const float *dec, const float *en, size_t n, const double *ln_edges, float *counts) {
  const double d2r = M_PI / 180.0, lon0 = 83.633, lat0 = 22.014, crpix = 50.5, cdelt = 0.02;
  const double s0 = sin(lat0 * d2r), c0 = cos(lat0 * d2r);
  const double dln = ln_edges[1] - ln_edges[0];
  for (size_t i = 0; i < n; i++) {
    double b = dec[i] * d2r, l = (ra[i] - lon0) * d2r;
    double vx = cos(b) * cos(l), vy = cos(b) * sin(l), vz = sin(b);
    double nx = vx * c0 + vz * s0, nz = -vx * s0 + vz * c0;
    double phi = atan2(vy, nx) / d2r, theta = asin(nz) / d2r;
    double x = crpix - 1 + phi / -cdelt, y = crpix - 1 + theta / cdelt;
    double e = (log(en[i]) - ln_edges[0]) / dln - 0.5;
    double ix = nearbyint(x), iy = nearbyint(y), ie = nearbyint(e); /* half-even in the default mode */
    if (ix >= 0 && ix < NX && iy >= 0 && iy < NY && ie >= 0 && ie < NE) counts[((int)ie * NY + (int)iy) * NX + (int)ix] += 1.0f;
  }
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 10000000;
  int reps = argc > 2 ? atoi(argv[2]) : 3;
  float *ra = malloc(n * 4), *dec = malloc(n * 4), *en = malloc(n * 4);
  uint32_t *idx = malloc(n * 4);
  float *counts = calloc(NX * NY * NE, 4);
  uint64_t s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL; double u1 = (s >> 11) * 0x1p-53;
    s = s * 6364136223846793005ULL + 1442695040888963407ULL; double u2 = (s >> 11) * 0x1p-53;
    s = s * 6364136223846793005ULL + 1442695040888963407ULL; double u3 = (s >> 11) * 0x1p-53;
    ra[i] = 83.633 + (u1 - 0.5) * 2.4; dec[i] = 22.014 + (u2 - 0.5) * 2.4; en[i] = exp(log(0.8) + u3 * log(15.0));
    idx[i] = (uint32_t)(u1 * NX * NY * NE);
  }
  double ln_edges[NE + 1];
  for (int k = 0; k <= NE; k++) ln_edges[k] = log(1.0) + k * (log(10.0) - log(1.0)) / NE;
  double t[64]; volatile double sink = 0;
  for (int r = 0; r < reps; r++) { double t0 = now(); bin_exact(ra, dec, en, n, ln_edges, counts); t[r] = now() - t0; }
  printf("exact %.6e\n", median(t, reps));
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (size_t i = 0; i < n; i++) counts[idx[i]] += 1.0f;
    t[r] = now() - t0;
  }
  printf("accum %.6e\n", median(t, reps));
  for (int r = 0; r < reps; r++) {
    /* Integer sums vectorise freely, so this runs at the speed of memory, not of an add chain. */
    double t0 = now(); uint32_t a = 0; const uint32_t *w0 = (const uint32_t *)ra, *w1 = (const uint32_t *)dec, *w2 = (const uint32_t *)en;
    for (size_t i = 0; i < n; i++) a += w0[i] ^ w1[i] ^ w2[i];
    sink += a; t[r] = now() - t0;
  }
  printf("read %.6e\n", median(t, reps));
  return sink == 42.0;
}
