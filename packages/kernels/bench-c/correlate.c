/* Direct versus FFT correlation with a top-hat disk, for scripts/bench/kernels.mjs (gcc -O3 -march=native
 * -ffp-contract=off). It measures whether an FFT path would pay in correlateDisk (issue #5: "a 0.5° radius
 * costs no more than 2× a 0.1° one"), on the bench's 500² map of integer counts 0–4:
 *   direct  the row cascade of src/reference/correlate.ts (what every backend runs), scalar C that gcc
 *           vectorises along x like the native backend;
 *   fft     the candidate FFT path: overlap-save tiles of M×M (M a power of two, tile interior T = M − 2c),
 *           two tiles per complex transform (real and imaginary parts: the kernel is real, so their
 *           correlations do not mix), iterative radix-2 FFT, twiddles computed once per call, the kernel's
 *           transform once per call; M = 128, 256, 512 (one 1024² tile for the whole map was 9× slower still).
 * Usage: correlate REPEATS → lines "direct <r> <median CPU s>" and
 * "fft <r> <M> <median CPU s> <max |fft − direct|> <max |direct|>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmp); return v[n / 2]; }

/* Half-widths of the disk's rows (the reference's diskKernel: inclusive test at pixel centres). */
static void disk_rows(int r, int *hw) {
  for (int dy = -r; dy <= r; dy++) {
    int w = -1;
    for (int dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r && abs(dx) > w) w = abs(dx);
    hw[dy + r] = w;
  }
}

/* The reference's correlateRowCascade for a disk of radius r (kn = 2r + 1, value 1). */
static void direct(const double *img, int nx, int ny, int r, const int *hw, double *out) {
  int kn = 2 * r + 1;
  double *pad = calloc(nx + 2 * r, 8), *h = malloc(8 * (size_t)nx);
  memset(out, 0, 8 * (size_t)nx * ny);
  for (int s = 0; s < ny; s++) {
    memcpy(pad + r, img + (size_t)s * nx, 8 * (size_t)nx);
    memcpy(h, img + (size_t)s * nx, 8 * (size_t)nx);
    for (int w = 0; w <= r; w++) {
      if (w > 0) { const double *L = pad + r - w, *R = pad + r + w; for (int x = 0; x < nx; x++) h[x] = h[x] + L[x] + R[x]; }
      for (int j = 0; j < kn; j++) {
        int y = s - (j - r);
        if (hw[j] != w || y < 0 || y >= ny) continue;
        double *o = out + (size_t)y * nx;
        for (int x = 0; x < nx; x++) o[x] += 1.0 * h[x];
      }
    }
  }
  free(pad); free(h);
}

/* In-place radix-2 FFT of n interleaved complex values (sign −1, or +1 when inv, unscaled). */
static void fft1(double *a, int n, const double *tw, int inv) {
  for (int i = 1, j = 0; i < n; i++) {
    int b = n >> 1;
    for (; j & b; b >>= 1) j ^= b;
    j ^= b;
    if (i < j) { double t = a[2*i]; a[2*i] = a[2*j]; a[2*j] = t; t = a[2*i+1]; a[2*i+1] = a[2*j+1]; a[2*j+1] = t; }
  }
  for (int len = 2; len <= n; len <<= 1) {
    int half = len >> 1, step = n / len;
    for (int i = 0; i < n; i += len)
      for (int k = 0; k < half; k++) {
        double wr = tw[2*k*step], wi = inv ? -tw[2*k*step+1] : tw[2*k*step+1];
        double *u = a + 2*(i+k), *v = a + 2*(i+k+half);
        double xr = v[0]*wr - v[1]*wi, xi = v[0]*wi + v[1]*wr;
        v[0] = u[0] - xr; v[1] = u[1] - xi; u[0] += xr; u[1] += xi;
      }
  }
}

/* 2D transform: rows, then columns through a contiguous copy. */
static void fft2(double *a, int M, const double *tw, int inv, double *col) {
  for (int y = 0; y < M; y++) fft1(a + 2*(size_t)y*M, M, tw, inv);
  for (int x = 0; x < M; x++) {
    for (int y = 0; y < M; y++) { col[2*y] = a[2*((size_t)y*M+x)]; col[2*y+1] = a[2*((size_t)y*M+x)+1]; }
    fft1(col, M, tw, inv);
    for (int y = 0; y < M; y++) { a[2*((size_t)y*M+x)] = col[2*y]; a[2*((size_t)y*M+x)+1] = col[2*y+1]; }
  }
}

static void fft_correlate(const double *img, int nx, int ny, int r, const int *hw, int M, double *out) {
  int c = r, T = M - 2 * c;
  double *tw = malloc(8 * (size_t)M), *K = calloc(2 * (size_t)M * M, 8), *A = malloc(16 * (size_t)M * M), *col = malloc(16 * (size_t)M);
  for (int k = 0; k < M / 2; k++) { tw[2*k] = cos(-2 * M_PI * k / M); tw[2*k+1] = sin(-2 * M_PI * k / M); }
  /* Correlation = convolution with the flipped kernel: kernel entry (dx, dy) sits at (−dx, −dy) mod M. */
  for (int dy = -r; dy <= r; dy++)
    for (int dx = -hw[dy + r]; dx <= hw[dy + r]; dx++) K[2 * ((size_t)((M - dy) % M) * M + (M - dx) % M)] = 1;
  fft2(K, M, tw, 0, col);
  int tx = (nx + T - 1) / T, ty = (ny + T - 1) / T, nt = tx * ty;
  double scale = 1.0 / ((double)M * M);
  for (int t = 0; t < nt; t += 2) {
    memset(A, 0, 16 * (size_t)M * M);
    for (int q = 0; q < 2 && t + q < nt; q++) {
      int ox = ((t + q) % tx) * T - c, oy = ((t + q) / tx) * T - c;
      for (int y = 0; y < M; y++) {
        int sy = oy + y;
        if (sy < 0 || sy >= ny) continue;
        for (int x = 0; x < M; x++) { int sx = ox + x; if (sx >= 0 && sx < nx) A[2 * ((size_t)y * M + x) + q] = img[(size_t)sy * nx + sx]; }
      }
    }
    fft2(A, M, tw, 0, col);
    for (size_t i = 0; i < (size_t)M * M; i++) {
      double ar = A[2*i], ai = A[2*i+1], kr = K[2*i], ki = K[2*i+1];
      A[2*i] = ar*kr - ai*ki; A[2*i+1] = ar*ki + ai*kr;
    }
    fft2(A, M, tw, 1, col);
    for (int q = 0; q < 2 && t + q < nt; q++) {
      int ox = ((t + q) % tx) * T, oy = ((t + q) / tx) * T;
      for (int y = 0; y < T && oy + y < ny; y++)
        for (int x = 0; x < T && ox + x < nx; x++) out[(size_t)(oy + y) * nx + ox + x] = A[2 * ((size_t)(y + c) * M + x + c) + q] * scale;
    }
  }
  free(tw); free(K); free(A); free(col);
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 3;
  if (reps < 1) reps = 1;
  if (reps > 64) reps = 64;
  enum { NX = 500, NY = 500 };
  double *img = malloc(8 * NX * NY), *d = malloc(8 * NX * NY), *f = malloc(8 * NX * NY), t[64];
  unsigned s = 3; /* the bench's LCG (Numerical Recipes constants), counts 0–4 */
  for (int i = 0; i < NX * NY; i++) { s = s * 1664525u + 1013904223u; img[i] = floor(s / 4294967296.0 * 5); }
  const int radii[] = { 5, 25, 50, 100 };
  const int sides[] = { 128, 256, 512 };
  for (int ri = 0; ri < 4; ri++) {
    int r = radii[ri], hw[2 * 100 + 1];
    disk_rows(r, hw);
    for (int k = 0; k < reps; k++) { double t0 = now(); direct(img, NX, NY, r, hw, d); t[k] = now() - t0; }
    printf("direct %d %.6e\n", r, median(t, reps));
    double peak = 0;
    for (int i = 0; i < NX * NY; i++) peak = fmax(peak, fabs(d[i]));
    for (int mi = 0; mi < (int)(sizeof sides / sizeof *sides); mi++) {
      int M = sides[mi];
      if (M - 2 * r < 32) continue;
      for (int k = 0; k < reps; k++) { double t0 = now(); fft_correlate(img, NX, NY, r, hw, M, f); t[k] = now() - t0; }
      double err = 0;
      for (int i = 0; i < NX * NY; i++) err = fmax(err, fabs(f[i] - d[i]));
      printf("fft %d %d %.6e %.3e %.0f\n", r, M, median(t, reps), err, peak);
    }
  }
  return 0;
}
