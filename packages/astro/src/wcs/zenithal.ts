/**
 * Zenithal projections of Calabretta & Greisen 2002 §5.1 besides TAN (which wcs.ts computes itself): SIN
 * (orthographic; slant with ξ = PV2_1, η = PV2_2, e.g. NCP), ARC (zenithal equidistant), ZEA (zenithal equal
 * area), STG (stereographic), and AZP at its default μ = γ = 0 (where it is TAN). θ0 = 90°: the native pole is the
 * reference point.
 *
 * They work on the native unit vector n of wcs.ts (x towards the reference point, y towards increasing longitude,
 * z towards north). With the default LONPOLE (180°) wcslib's native (φ, θ) are sin θ = n_x, cos θ sin φ = n_y,
 * −cos θ cos φ = n_z, so the plane coordinates x = R_θ sin φ, y = −R_θ cos φ are R_θ · (n_y, n_z) / cos θ: every
 * projection is a radius R(ζ) of the native colatitude ζ = 90° − θ = atan2(√(n_y² + n_z²), n_x).
 */

const RAD_TO_DEG = 180 / Math.PI;

const ZENITHAL_PROJECTIONS = ['SIN', 'ARC', 'ZEA', 'STG', 'AZP'] as const;

export type ZenithalProjection = (typeof ZENITHAL_PROJECTIONS)[number];

/** True for the projections of this module (the zenithal ones other than TAN). */
export function isZenithalProjection(projection: string): projection is ZenithalProjection {
  return (ZENITHAL_PROJECTIONS as readonly string[]).includes(projection);
}

/** R(ζ) in radians (r0 = 1 rad), or NaN where the projection does not reach (SIN's far hemisphere). */
function radius(projection: ZenithalProjection, zeta: number, cosZeta: number): number {
  switch (projection) {
    case 'SIN':
      return cosZeta < 0 ? Number.NaN : Math.sin(zeta);
    case 'ARC':
      return zeta;
    case 'ZEA':
      return 2 * Math.sin(zeta / 2);
    case 'STG':
      return zeta >= Math.PI ? Number.NaN : 2 * Math.tan(zeta / 2);
    case 'AZP':
      return cosZeta > 0 ? Math.tan(zeta) : Number.NaN;
  }
}

/** ζ (radians) of a plane radius R in radians, or NaN outside the projection's boundary. */
function colatitude(projection: ZenithalProjection, r: number): number {
  switch (projection) {
    case 'SIN':
      return r > 1 ? Number.NaN : Math.asin(r);
    case 'ARC':
      return r > Math.PI ? Number.NaN : r;
    case 'ZEA':
      return r > 2 ? Number.NaN : 2 * Math.asin(r / 2);
    case 'STG':
      return 2 * Math.atan(r / 2);
    case 'AZP':
      return Math.atan(r);
  }
}

/**
 * Slant orthographic SIN (C&G eqs 38–41) on the native vector: x = n_y + ξ(1 − n_x), y = n_z + η(1 − n_x) (r0 = 1),
 * a parallel projection along (1, ξ, η), so the visible hemisphere is n · (1, ξ, η) ≥ 0 (wcslib's bound
 * θ ≥ −atan(ξ sin φ − η cos φ)) and the inverse is the nearer of the two sphere points on the line.
 */
function slantSinToPlane(n: readonly [number, number, number], xi: number, eta: number): [number, number] {
  const r = Math.hypot(n[0], n[1], n[2]);
  const [nx, ny, nz] = [n[0] / r, n[1] / r, n[2] / r];
  if (nx + xi * ny + eta * nz < 0) return [Number.NaN, Number.NaN];
  return [(ny + xi * (1 - nx)) * RAD_TO_DEG, (nz + eta * (1 - nx)) * RAD_TO_DEG];
}

function slantSinFromPlane(xDeg: number, yDeg: number, xi: number, eta: number): [number, number, number] {
  // n = p + t·(1, ξ, η) with p = (0, x − ξ, y − η), |n| = 1: a t² + 2 b t + c = 0, the larger t (visible side).
  const px = xDeg / RAD_TO_DEG - xi;
  const py = yDeg / RAD_TO_DEG - eta;
  const a = 1 + xi * xi + eta * eta;
  const b = xi * px + eta * py;
  const c = px * px + py * py - 1;
  const d = b * b - a * c;
  if (d < 0) return [Number.NaN, Number.NaN, Number.NaN];
  const t = (-b + Math.sqrt(d)) / a;
  return [t, px + xi * t, py + eta * t];
}

/**
 * Plane coordinates (x, y) in degrees of a native vector (need not be unit length); NaN off the projection.
 * `slant` is SIN's (ξ, η) when not (0, 0).
 */
export function zenithalToPlane(
  projection: ZenithalProjection,
  n: readonly [number, number, number],
  slant?: readonly [number, number],
): [number, number] {
  if (projection === 'SIN' && slant) return slantSinToPlane(n, slant[0], slant[1]);
  const rho = Math.hypot(n[1], n[2]);
  if (rho === 0) return n[0] > 0 ? [0, 0] : [Number.NaN, Number.NaN];
  const zeta = Math.atan2(rho, n[0]);
  const r = radius(projection, zeta, n[0]);
  if (!Number.isFinite(r)) return [Number.NaN, Number.NaN];
  const f = (r / rho) * RAD_TO_DEG;
  return [f * n[1], f * n[2]];
}

/** The native unit vector of plane coordinates (x, y) in degrees; NaN outside the projection's boundary. */
export function zenithalFromPlane(
  projection: ZenithalProjection,
  x: number,
  y: number,
  slant?: readonly [number, number],
): [number, number, number] {
  if (projection === 'SIN' && slant) return slantSinFromPlane(x, y, slant[0], slant[1]);
  const rDeg = Math.hypot(x, y);
  if (rDeg === 0) return [1, 0, 0];
  const zeta = colatitude(projection, rDeg / RAD_TO_DEG);
  if (Number.isNaN(zeta)) return [Number.NaN, Number.NaN, Number.NaN];
  const s = Math.sin(zeta) / rDeg;
  return [Math.cos(zeta), s * x, s * y];
}
