// Event binning (science spec §4.1), the same algorithm as native/src/bin_events.rs: a branch-free
// projection with polynomial sin/cos/atan decides every event that lies farther than a safety band
// from a pixel or energy edge; the indices of the others are written to `uncertain` and the caller
// bins them with the reference kernel, so counts equal the reference's exact projection.
export { heapBase } from './common';

const DEG: f64 = Math.PI / 180.0;
const RAD: f64 = 180.0 / Math.PI;
const ANGLE_ERROR: f64 = 1e-9;
const ENERGY_BAND: f64 = 1e-9;
const FRAC_PI_2: f64 = Math.PI / 2;
const FRAC_PI_4: f64 = Math.PI / 4;

// Projection parameters of the current call (set by binEvents, read by the inlined helpers).
let gLon0: f64 = 0;
let gS0: f64 = 0;
let gC0: f64 = 1;

@inline function sinPoly(a: f64): f64 {
  const z = a * a;
  return a * (1.0 + z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0 + z * (-1.0 / 39916800.0 + z * (1.0 / 6227020800.0 + z * (-1.0 / 1307674368000.0 + z * (1.0 / 355687428096000.0 + z * (-1.0 / 121645100408832000.0 + z * (1.0 / 51090942171709440000.0)))))))))));
}

@inline function cosPoly(a: f64): f64 {
  const z = a * a;
  return 1.0 + z * (-0.5 + z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0 + z * (1.0 / 479001600.0 + z * (-1.0 / 87178291200.0 + z * (1.0 / 20922789888000.0 + z * (-1.0 / 6402373705728000.0 + z * (1.0 / 2432902008176640000.0 + z * (-1.0 / 1124000727777607680000.0)))))))))));
}

@inline function atan01(t: f64): f64 {
  const c: f64 = t >= 11.0 / 16.0 ? 1.0 : t >= 7.0 / 16.0 ? 0.5 : 0.0;
  const base: f64 = t >= 11.0 / 16.0 ? FRAC_PI_4 : t >= 7.0 / 16.0 ? 4.63647609000806093515e-1 : 0.0;
  const u = (t - c) / (1.0 + c * t);
  const z = u * u;
  const w = z * z;
  const s1 = z * (3.33333333333329318027e-1 + w * (1.42857142725034663711e-1 + w * (9.09088713343650656196e-2 + w * (6.66107313738753120669e-2 + w * (4.97687799461593236017e-2 + w * 1.62858201153657823623e-2)))));
  const s2 = w * (-1.99999999998764832476e-1 + w * (-1.11111104054623557880e-1 + w * (-7.69187620504482999495e-2 + w * (-5.83357013379057348645e-2 + w * -3.65315727442169155270e-2))));
  return base + (u - u * (s1 + s2));
}

@inline function atan2Fast(y: f64, x: f64): f64 {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const mx = max(ax, ay);
  const mn = min(ax, ay);
  const t = mx > 0 ? mn / mx : 0.0;
  let r = atan01(t);
  r = ay > ax ? FRAC_PI_2 - r : r;
  r = x < 0 ? Math.PI - r : r;
  return y < 0 ? -r : r;
}

@inline function loadCoord<T>(base: usize, i: i32): f64 {
  return <f64>load<T>(base + (<usize>i << alignof<T>()));
}

/**
 * Bins `n` events into `counts` (f32 cube [ie][iy][ix], accumulated). `lon`/`lat` hold T (f32 or f64)
 * degrees, `energy` holds U. `edges` has ne + 1 ascending values. Returns how many event indices were
 * written to `uncertain` (u32, capacity n).
 */
@inline function binGeneric<T, U>(lon: usize, lat: usize, energy: usize, n: i32, lon0: f64, lat0: f64, crpix1: f64, crpix2: f64, cdelt1: f64, cdelt2: f64, nx: i32, ny: i32, edges: usize, ne: i32, counts: usize, uncertain: usize): i32 {
  gLon0 = lon0;
  gS0 = Math.sin(lat0 * DEG);
  gC0 = Math.cos(lat0 * DEG);
  const s0 = gS0;
  const c0 = gC0;
  const bx = 1e-6 + (ANGLE_ERROR * RAD) / Math.abs(cdelt1);
  const by = 1e-6 + (ANGLE_ERROR * RAD) / Math.abs(cdelt2);
  const sx = RAD / cdelt1;
  const sy = RAD / cdelt2;
  const ox = crpix1 - 1.0;
  const oy = crpix2 - 1.0;
  let nUncertain: i32 = 0;
  for (let i = 0; i < n; i++) {
    const lonv = loadCoord<T>(lon, i);
    const latv = loadCoord<T>(lat, i);
    let a = lonv - lon0;
    a -= 360.0 * Math.round(a / 360.0);
    const ar = a * DEG;
    const br = latv * DEG;
    const sa = sinPoly(ar);
    const ca = cosPoly(ar);
    const sb = sinPoly(br);
    const cb = cosPoly(br);
    const vx = cb * ca;
    const vz = sb;
    const px = vx * c0 + vz * s0;
    const py = cb * sa;
    const pz = -vx * s0 + vz * c0;
    const phi = atan2Fast(py, px);
    const theta = atan2Fast(pz, Math.sqrt(px * px + py * py));
    const flag = (px < 0 && Math.abs(py) < 1e-9) || Math.abs(pz) > 1.0 - 1e-12 || Math.abs(latv) > 90.0;
    const x = ox + phi * sx;
    const y = oy + theta * sy;
    const fx = Math.floor(x + 0.5);
    const fy = Math.floor(y + 0.5);
    const rx = x + 0.5 - fx;
    const ry = y + 0.5 - fy;
    const nearX = rx < bx || rx > 1.0 - bx;
    const nearY = ry < by || ry > 1.0 - by;
    const e = loadCoord<U>(energy, i);
    let ie: i32 = -1;
    let nearE = false;
    for (let k = 0; k <= ne; k++) {
      const edge = load<f64>(edges + (<usize>k << 3));
      ie += i32(e >= edge);
      nearE = nearE || Math.abs(e - edge) <= ENERGY_BAND * Math.abs(edge);
    }
    // Out-of-range floats convert to 0 in WebAssembly's saturating truncation only when NaN; keep
    // far-away values far away by clamping before the conversion.
    const ix = <i32>max(-2.0, min(<f64>nx + 1, fx));
    const iy = <i32>max(-2.0, min(<f64>ny + 1, fy));
    const xNaN = x != x || y != y;
    if ((nearX || nearY || nearE || flag) && !xNaN) {
      const close = ix >= -1 && ix <= nx && iy >= -1 && iy <= ny && ie >= -1 && ie <= ne;
      if (close || flag) {
        store<u32>(uncertain + (<usize>nUncertain << 2), <u32>i);
        nUncertain++;
        continue;
      }
    }
    if (!xNaN && ix >= 0 && ix < nx && iy >= 0 && iy < ny && ie >= 0 && ie < ne) {
      const at = counts + ((<usize>((ie * ny + iy) * nx + ix)) << 2);
      store<f32>(at, load<f32>(at) + 1.0);
    }
  }
  return nUncertain;
}
