/**
 * gammapy 1.0's WStat counts statistics (stats/fit_statistics.py `wstat`, `get_wstat_mu_bkg`,
 * `get_wstat_gof_terms`; stats/counts_statistic.py `WStatCountsStatistic`): Poisson counts n_on over a background
 * measured as n_off OFF counts with exposure ratio α, the background profiled out. The excess map of an on-off
 * dataset (an unstacked run with a ring background) uses it instead of the Cash statistic. gammapy holds n_on,
 * n_off, α and the excess in float32 maps and evaluates the statistic in float64: so does this module.
 */
import { brentq } from '@pipe/kernels';

/** gammapy's get_wstat_mu_bkg: the background that maximises the likelihood for a signal mu_sig. */
export function wstatMuBkg(nOn: number, nOff: number, alpha: number, muSig: number): number {
  const c = alpha * (nOn + nOff) - (1 + alpha) * muSig;
  const d = Math.sqrt(c ** 2 + 4 * alpha * (alpha + 1) * nOff * muSig);
  return (c + d) / (2 * alpha * (alpha + 1));
}

/** gammapy's wstat with its goodness-of-fit terms (extra_terms=True), term by term in its order. */
export function wstat(nOn: number, nOff: number, alpha: number, muSig: number): number {
  const muBkg = wstatMuBkg(nOn, nOff, alpha, muSig);
  const term1 = muSig + (1 + alpha) * muBkg;
  // np.where(n == 0, 0, term): the term's NaN or infinity is dropped only where the count is exactly 0.
  const term2 = nOn === 0 ? 0 : -nOn * Math.log(muSig + alpha * muBkg);
  const term3 = nOff === 0 ? 0 : -nOff * Math.log(muBkg);
  const stat = 2 * (term1 + term2 + term3);
  let gof = 0;
  gof += nOn === 0 ? 0 : -nOn * (1 - Math.log(nOn));
  gof += nOff === 0 ? 0 : -nOff * (1 - Math.log(nOff));
  return stat + 2 * gof;
}

/** The WStat quantities of one pixel, as gammapy's WStatCountsStatistic gives them (no model: mu_sig = 0). */
export interface WStatPixel {
  /** n_on − α · n_off, float32. */
  nSig: number;
  /** √(n_on + α² · n_off), float32. */
  error: number;
  /** max(0, stat_null − stat_max), NaN stays NaN. */
  ts: number;
  /** sign(n_sig) · √ts. */
  sqrtTs: number;
  /** stat_max: the statistic at the measured excess (the level errors and limits are found from). */
  statMax: number;
}

const f = Math.fround;

/** n_on, n_off and α as gammapy's float32 maps hold them. */
export function wstatPixel(nOn: number, nOff: number, alpha: number): WStatPixel {
  const nSig = f(nOn - f(alpha * nOff));
  const error = f(Math.sqrt(f(nOn + f(f(alpha * alpha) * nOff))));
  const statNull = wstat(nOn, nOff, alpha, 0);
  const statMax = wstat(nOn, nOff, alpha, nSig);
  const diff = statNull - statMax;
  const ts = diff < 0 ? 0 : diff; // np.clip(…, 0, None): NaN stays NaN
  // np.sign(n_sig) * np.sqrt(ts): a zero excess times a NaN or infinite root is NaN, as in numpy.
  const sign = nSig > 0 ? 1 : nSig < 0 ? -1 : nSig === 0 ? 0 : Number.NaN;
  const sqrtTs = sign * Math.sqrt(ts);
  return { nSig, error, ts, sqrtTs, statMax };
}

/**
 * gammapy's compute_errn / compute_errp at nSigma: the excesses where the statistic is nSigma² above its
 * maximum, searched on [n_sig − 2·nSigma·(error + 1), n_sig] and [n_sig, n_sig + 2·nSigma·(error + 1)] (float32
 * bounds, as its arrays). errn is n_on when the lower search finds no root; errp NaN when the upper one finds none.
 */
export function wstatErrors(
  nOn: number,
  nOff: number,
  alpha: number,
  px: WStatPixel,
  nSigma: number,
): { errn: number; errp: number } {
  const halfWidth = searchHalfWidth(px, nSigma);
  const root = (lo: number, hi: number) => levelRoot(nOn, nOff, alpha, px.statMax + nSigma ** 2, lo, hi);
  const lo = root(f(px.nSig - halfWidth), px.nSig);
  const hi = root(px.nSig, f(px.nSig + halfWidth));
  return { errn: Number.isNaN(lo) ? nOn : px.nSig - lo, errp: hi - px.nSig };
}

/**
 * gammapy's compute_upper_limit at nSigmaUl: the excess above n_sig where the statistic is nSigmaUl² above its
 * value at n_sig (stat_max), searched on [n_sig, n_sig + 2·nSigmaUl·(error + 1)]; NaN when there is no root.
 */
export function wstatUpperLimit(
  nOn: number,
  nOff: number,
  alpha: number,
  px: WStatPixel,
  nSigmaUl: number,
): number {
  const hi = f(px.nSig + searchHalfWidth(px, nSigmaUl));
  return levelRoot(nOn, nOff, alpha, px.statMax + nSigmaUl ** 2, px.nSig, hi);
}

/** 2·nSigma·(error + 1) as gammapy's float32 arrays compute it: the width its root searches span. */
function searchHalfWidth(px: WStatPixel, nSigma: number): number {
  return f(2 * nSigma * f(px.error + 1));
}

/** The signal μ in [lo, hi] where wstat(n_on, n_off, α, μ) reaches `level` (brentq, as gammapy's find_roots). */
function levelRoot(nOn: number, nOff: number, alpha: number, level: number, lo: number, hi: number): number {
  return brentq((mu) => wstat(nOn, nOff, alpha, mu) - level, lo, hi);
}
