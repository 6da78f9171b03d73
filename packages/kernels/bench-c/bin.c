/* Plain scalar C baselines for scripts/bench/kernels.mjs (built there with gcc -O3 -march=native):
 *   exact   the full binning kernel with libm trig, as src/reference/bin-events.ts computes it: RA/Dec →
 *           oblique CAR pixel, half-even rounding (rint), log-energy bin, accumulate; one core;
 *   accum   accumulation alone: fractional bin coordinates → rint → accumulate (float32 cube); one core;
 *   read    memory bandwidth: reads the bytes the kernel reads (RA, Dec, E as float64), integer xor-sum.
 * Usage: bin N REPEATS → one line per case: "<case> <median CPU seconds> <events counted>". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Process CPU time: a per-core figure that a busy shared machine distorts less than wall time. */
static double now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmp); return v[n / 2]; }

enum { NX = 100, NY = 100, NE = 10 };
static const double D2R = M_PI / 180.0;

static void bin_exact(const double *ra, const double *dec, const double *en, size_t n, const double *R, const double *ln_edges, float *counts) {
  const double x0 = 49.5, y0 = 49.5, cd1 = -0.02, cd2 = 0.02, dln = ln_edges[1] - ln_edges[0];
  for (size_t i = 0; i < n; i++) {
    double e = (log(en[i]) - ln_edges[0]) / dln - 0.5, ie = rint(e);
    if (!(ie >= 0 && ie < NE)) continue;
    double lon = ra[i] * D2R, lat = dec[i] * D2R, cl = cos(lat);
    double cx = cl * cos(lon), cy = cl * sin(lon), cz = sin(lat);
    double nx = R[0] * cx + R[1] * cy + R[2] * cz, ny = R[3] * cx + R[4] * cy + R[5] * cz, nz = R[6] * cx + R[7] * cy + R[8] * cz;
    double ix = rint(x0 + atan2(ny, nx) / D2R / cd1);
    if (!(ix >= 0 && ix < NX)) continue;
    double iy = rint(y0 + asin(nz) / D2R / cd2);
    if (!(iy >= 0 && iy < NY)) continue;
    counts[((int)ie * NY + (int)iy) * NX + (int)ix] += 1.0f;
  }
}

static void accumulate(const double *fx, const double *fy, const double *fe, size_t n, float *counts) {
  for (size_t i = 0; i < n; i++) {
    double ix = rint(fx[i]), iy = rint(fy[i]), ie = rint(fe[i]);
    if (ix >= 0 && ix < NX && iy >= 0 && iy < NY && ie >= 0 && ie < NE) counts[((int)ie * NY + (int)iy) * NX + (int)ix] += 1.0f;
  }
}

static double total(const float *c) { double s = 0; for (int i = 0; i < NX * NY * NE; i++) s += c[i]; return s; }

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 10000000;
  int reps = argc > 2 ? atoi(argv[2]) : 3;
  if (reps > 64) reps = 64;
  double *ra = malloc(n * 8), *dec = malloc(n * 8), *en = malloc(n * 8);
  double *fx = malloc(n * 8), *fy = malloc(n * 8), *fe = malloc(n * 8);
  float *counts = calloc(NX * NY * NE, 4);
  uint64_t s = 12345;
  for (size_t i = 0; i < n; i++) {
    double u[3];
    for (int k = 0; k < 3; k++) { s = s * 6364136223846793005ULL + 1442695040888963407ULL; u[k] = (s >> 11) * 0x1p-53; }
    ra[i] = (float)(83.633 + (u[0] - 0.5) * 2.4); dec[i] = (float)(22.014 + (u[1] - 0.5) * 2.4); en[i] = (float)exp(u[2] * log(12.0));
    fx[i] = -2 + u[0] * 104; fy[i] = -2 + u[1] * 104; fe[i] = -1 + u[2] * 12;
  }
  const double l0 = 83.633 * D2R, b0 = 22.014 * D2R;
  const double R[9] = { cos(b0) * cos(l0), cos(b0) * sin(l0), sin(b0), -sin(l0), cos(l0), 0, -sin(b0) * cos(l0), -sin(b0) * sin(l0), cos(b0) };
  double ln_edges[NE + 1];
  for (int k = 0; k <= NE; k++) ln_edges[k] = log(1.0) + k * (log(10.0) - log(1.0)) / NE;
  double t[64]; volatile uint64_t sink = 0;
  for (int r = 0; r < reps; r++) { for (int i = 0; i < NX * NY * NE; i++) counts[i] = 0; double t0 = now(); bin_exact(ra, dec, en, n, R, ln_edges, counts); t[r] = now() - t0; }
  printf("exact %.6e %.0f\n", median(t, reps), total(counts));
  for (int r = 0; r < reps; r++) { for (int i = 0; i < NX * NY * NE; i++) counts[i] = 0; double t0 = now(); accumulate(fx, fy, fe, n, counts); t[r] = now() - t0; }
  printf("accum %.6e %.0f\n", median(t, reps), total(counts));
  for (int r = 0; r < reps; r++) {
    /* Integer xor-sums vectorise freely, so this runs at the speed of memory, not of an add chain. */
    double t0 = now(); uint64_t a = 0; const uint64_t *w0 = (const uint64_t *)ra, *w1 = (const uint64_t *)dec, *w2 = (const uint64_t *)en;
    for (size_t i = 0; i < n; i++) a += w0[i] ^ w1[i] ^ w2[i];
    sink += a; t[r] = now() - t0;
  }
  printf("read %.6e %zu\n", median(t, reps), (size_t)(sink & 0));
  return 0;
}
