/**
 * Projections of Calabretta & Greisen 2002 with θ0 = 0 besides CAR (which wcs.ts computes itself): the cylindrical
 * MER (Mercator) and CEA (cylindrical equal area, λ = PV2_1, default 1), the pseudocylindrical SFL (Sanson-Flamsteed;
 * its AIPS form GLS is SFL about a native frame of θ0 = CRVAL2, in wcs.ts) and MOL (Mollweide), and AIT (Hammer-Aitoff). The reference point is native (φ, θ) = (0, 0).
 *
 * They work on the native unit vector n of wcs.ts (x towards the reference point, y towards increasing longitude,
 * z towards north), which for θ0 = 0 and the default LONPOLE is wcslib's native frame itself: φ = atan2(n_y, n_x),
 * θ = atan2(n_z, √(n_x² + n_y²)), as for CAR. Plane coordinates are in degrees (r0 = 180/π).
 */

const RAD_TO_DEG = 180 / Math.PI;
const DEG_TO_RAD = Math.PI / 180;
const SQRT2 = Math.SQRT2;

export type CylindricalProjection = 'MER' | 'CEA' | 'SFL' | 'MOL' | 'AIT';

/** GLS: SFL as AIPS defines it, with its own native frame (wcs.ts). */
export type GlsProjection = 'GLS';

const NAN2: [number, number] = [Number.NaN, Number.NaN];

/** Mollweide's auxiliary angle γ (radians): 2γ + sin 2γ = π sin θ, by Newton steps kept inside a bisection bracket. */
function mollweideGamma(theta: number): number {
  const target = Math.PI * Math.sin(theta);
  if (Math.abs(theta) >= Math.PI / 2) return Math.sign(theta) * (Math.PI / 2);
  let lo = -Math.PI / 2;
  let hi = Math.PI / 2;
  let g = theta;
  for (let i = 0; i < 200; i++) {
    const f = 2 * g + Math.sin(2 * g) - target;
    if (f === 0) return g;
    if (f > 0) hi = g;
    else lo = g;
    const d = 2 + 2 * Math.cos(2 * g);
    let next = g - f / d;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - g) < 1e-16 || hi - lo < 1e-16) return next;
    g = next;
  }
  return g;
}

/** Plane coordinates (x, y) in degrees of a native vector (need not be unit length); NaN off the projection. */
export function cylindricalToPlane(
  projection: CylindricalProjection,
  n: readonly [number, number, number],
  lambda = 1,
): [number, number] {
  const phi = Math.atan2(n[1], n[0]);
  const theta = Math.atan2(n[2], Math.hypot(n[0], n[1]));
  switch (projection) {
    case 'MER': {
      if (Math.abs(theta) >= Math.PI / 2) return NAN2;
      return [phi * RAD_TO_DEG, Math.log(Math.tan((Math.PI / 2 + theta) / 2)) * RAD_TO_DEG];
    }
    case 'CEA':
      return [phi * RAD_TO_DEG, (Math.sin(theta) / lambda) * RAD_TO_DEG];
    case 'SFL':
      return [phi * Math.cos(theta) * RAD_TO_DEG, theta * RAD_TO_DEG];
    case 'MOL': {
      const g = mollweideGamma(theta);
      return [((2 * SQRT2) / Math.PI) * phi * Math.cos(g) * RAD_TO_DEG, SQRT2 * Math.sin(g) * RAD_TO_DEG];
    }
    case 'AIT': {
      const ct = Math.cos(theta);
      const gamma = Math.sqrt(2 / (1 + ct * Math.cos(phi / 2)));
      return [2 * gamma * ct * Math.sin(phi / 2) * RAD_TO_DEG, gamma * Math.sin(theta) * RAD_TO_DEG];
    }
  }
}

/** Native (φ, θ) in radians of plane coordinates in degrees; NaN outside the projection's boundary. */
function planeToAngles(
  projection: CylindricalProjection,
  xDeg: number,
  yDeg: number,
  lambda: number,
): [number, number] {
  const x = xDeg * DEG_TO_RAD;
  const y = yDeg * DEG_TO_RAD;
  switch (projection) {
    case 'MER':
      return [x, 2 * Math.atan(Math.exp(y)) - Math.PI / 2];
    case 'CEA': {
      const s = lambda * y;
      return Math.abs(s) > 1 ? NAN2 : [x, Math.asin(s)];
    }
    case 'SFL': {
      if (Math.abs(y) > Math.PI / 2) return NAN2;
      const c = Math.cos(y);
      const phi = c === 0 ? (x === 0 ? 0 : Number.NaN) : x / c;
      return [phi, y];
    }
    case 'MOL': {
      const s = y / SQRT2;
      if (Math.abs(s) > 1) return NAN2;
      const c = Math.sqrt((1 - s) * (1 + s));
      const phi = c === 0 ? (x === 0 ? 0 : Number.NaN) : (Math.PI * x) / (2 * SQRT2 * c);
      const sinTheta = (2 * Math.asin(s) + 2 * s * c) / Math.PI;
      return [phi, Math.asin(Math.max(-1, Math.min(1, sinTheta)))];
    }
    case 'AIT': {
      const u = 1 - (x * x) / 16 - (y * y) / 4;
      if (u < 0.5) return NAN2;
      const z = Math.sqrt(u);
      return [2 * Math.atan2((z * x) / 2, 2 * u - 1), Math.asin(Math.max(-1, Math.min(1, y * z)))];
    }
  }
}

/** The native unit vector of plane coordinates (x, y) in degrees; NaN outside the projection's boundary. */
export function cylindricalFromPlane(
  projection: CylindricalProjection,
  x: number,
  y: number,
  lambda = 1,
): [number, number, number] {
  const [phi, theta] = planeToAngles(projection, x, y, lambda);
  // wcslib bounds φ for the pseudocylindricals (their plane ends at φ = ±180°), not for MER and CEA (as CAR).
  const bounded = projection === 'SFL' || projection === 'MOL';
  if (Number.isNaN(phi) || Number.isNaN(theta) || (bounded && Math.abs(phi) > Math.PI))
    return [Number.NaN, Number.NaN, Number.NaN];
  const ct = Math.cos(theta);
  return [ct * Math.cos(phi), ct * Math.sin(phi), Math.sin(theta)];
}
