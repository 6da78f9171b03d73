/**
 * The FoV background's spectral norm models other than gammapy's default pl-norm: `lp-norm` and `ecpl-norm`
 * (FoVBackgroundMaker's `spectral_model`). gammapy evaluates the model at each reco energy bin's centre and
 * multiplies the run's background by it; the `scale` method sets the norm alone, leaving the shape at the model's
 * defaults (gammapy 1.0: lp-norm alpha 2, beta 1 at 10 TeV; ecpl-norm index 1.5, lambda 0.1 TeV⁻¹ at 1 TeV), and
 * `fit` fits every free parameter with the Cash statistic.
 *
 * With no source model the Cash fit depends on the data only through each energy bin's sums N_k (counts) and B_k
 * (background) over the fit mask: Σ_p (f_k b_p − n_p ln f_k b_p) = f_k B_k − N_k ln f_k + const. Both models are
 * exp-linear in (ln norm, p1, p2) — ln f_k = θ·φ_k — so the statistic is convex there and Newton's method finds
 * its minimum, where gammapy's Minuit stops within its tolerance (≈1e-4 of the parameters' errors).
 */

/** The norm models pipe fits beyond pl-norm (whose fit is the scale's N / B, fov-norm.ts). */
export type FovShapeModel = 'lp-norm' | 'ecpl-norm';

/** gammapy's tags and class names of the norm spectral models FoVBackgroundMaker can build from a string. */
export const FOV_SPECTRAL_MODELS: Record<string, 'pl-norm' | FovShapeModel> = {
  'pl-norm': 'pl-norm',
  PowerLawNormSpectralModel: 'pl-norm',
  'lp-norm': 'lp-norm',
  LogParabolaNormSpectralModel: 'lp-norm',
  'ecpl-norm': 'ecpl-norm',
  ExpCutoffPowerLawNormSpectralModel: 'ecpl-norm',
};

/** A model's parameters, in gammapy's names (energies in TeV). */
export type FovShapeParameters = Record<string, number>;

/** gammapy 1.0's defaults (`Model.create(tag)`), and the shape parameters fitted besides the norm. */
const DEFAULTS: Record<FovShapeModel, { values: FovShapeParameters; shape: [string, string] }> = {
  'lp-norm': { values: { norm: 1, reference: 10, alpha: 2, beta: 1 }, shape: ['alpha', 'beta'] },
  // alpha (the cutoff's exponent) is frozen at 1 in gammapy.
  'ecpl-norm': {
    values: { index: 1.5, norm: 1, reference: 1, lambda_: 0.1, alpha: 1 },
    shape: ['index', 'lambda_'],
  },
};

export function defaultParameters(model: FovShapeModel): FovShapeParameters {
  return { ...DEFAULTS[model].values };
}

/** The model at each energy (TeV), as gammapy's `evaluate`. */
export function shapeFactors(
  model: FovShapeModel,
  p: FovShapeParameters,
  energies: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(energies.length);
  for (let k = 0; k < energies.length; k++) {
    const e = energies[k] as number;
    const x = e / (p['reference'] as number);
    out[k] =
      model === 'lp-norm'
        ? (p['norm'] as number) * x ** (-(p['alpha'] as number) - (p['beta'] as number) * Math.log(x))
        : (p['norm'] as number) *
          x ** -(p['index'] as number) *
          Math.exp(-((e * (p['lambda_'] as number)) ** (p['alpha'] as number)));
  }
  return out;
}

/** ln f = θ·φ: the features of each energy, θ = (ln norm, alpha, beta) or (ln norm, index, lambda_). */
function features(model: FovShapeModel, p: FovShapeParameters, e: number): [number, number, number] {
  const l = Math.log(e / (p['reference'] as number));
  return model === 'lp-norm' ? [1, -l, -l * l] : [1, -l, -e];
}

export interface FovShapeFit {
  parameters: FovShapeParameters;
  /** 1σ errors of the free parameters (from the statistic's curvature, as Minuit's HESSE). */
  errors: FovShapeParameters;
}

/** Why the fit failed: gammapy then sets the run's safe mask to false ("Fit did not converge"). */
export interface FovShapeFitFailure {
  failed: string;
}

const MAX_ITERATIONS = 200;
/** Beyond this a parameter runs off: the statistic has no minimum (e.g. no counts in the top bins). */
const RUNAWAY = 1e6;

/**
 * The Cash fit of `model` to the sums N_k, B_k at the bin centres `energies`, from gammapy's defaults. Bins with
 * B_k = 0 carry no information (their counts sit on truncated pixels, a constant of the statistic).
 */
export function fitShape(
  model: FovShapeModel,
  counts: ArrayLike<number>,
  background: ArrayLike<number>,
  energies: ArrayLike<number>,
): FovShapeFit | FovShapeFitFailure {
  const start = defaultParameters(model);
  const [aName, bName] = DEFAULTS[model].shape;
  const bins: Array<{ n: number; b: number; phi: [number, number, number] }> = [];
  for (let k = 0; k < energies.length; k++) {
    const n = counts[k] as number;
    const b = background[k] as number;
    if (Number.isNaN(n) || Number.isNaN(b))
      return { failed: 'the statistic is NaN (a NaN background in the fit region)' };
    if (b > 0) bins.push({ n, b, phi: features(model, start, energies[k] as number) });
  }
  if (bins.length < 3) return { failed: `${bins.length} energy bins with background to fit 3 parameters` };
  const theta = [Math.log(start['norm'] as number), start[aName] as number, start[bName] as number];
  const stat = (t: number[]): number => {
    let c = 0;
    for (const { n, b, phi } of bins) {
      const lf = t[0]! * phi[0] + t[1]! * phi[1] + t[2]! * phi[2];
      c += b * Math.exp(lf) - n * lf;
    }
    return c;
  };
  let current = stat(theta);
  let hessian: number[][] = [];
  let previous = Number.POSITIVE_INFINITY;
  /** The last step left the statistic as it was. */
  let flat = false;
  for (let iteration = 0; ; iteration++) {
    const g = [0, 0, 0];
    const h = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    for (const { n, b, phi } of bins) {
      const mu = b * Math.exp(theta[0]! * phi[0] + theta[1]! * phi[1] + theta[2]! * phi[2]);
      for (let i = 0; i < 3; i++) {
        g[i]! += (mu - n) * phi[i]!;
        for (let j = 0; j < 3; j++) h[i]![j]! += mu * phi[i]! * phi[j]!;
      }
    }
    hessian = h;
    const step = solve3(
      h,
      g.map((v) => -v),
    );
    if (!step) return { failed: 'the fit is degenerate (its curvature matrix is singular)' };
    // Newton's decrement λ² = −g·step: twice the statistic's expected drop (Minuit's EDM is half of it too).
    const decrement = -(g[0]! * step[0]! + g[1]! * step[1]! + g[2]! * step[2]!);
    if (decrement < 1e-20 * Math.max(1, Math.abs(current))) break;
    // At the statistic's rounding noise a step changes it by nothing and the decrement, cut quadratically before,
    // stops falling, short of the bound above: that is the minimum too.
    if (flat && decrement >= previous / 2) break;
    previous = decrement;
    if (iteration === MAX_ITERATIONS) return { failed: `no convergence in ${MAX_ITERATIONS} Newton steps` };
    let scale = 1;
    let next = theta.map((v, i) => v + step[i]!);
    let value = stat(next);
    while (!(value <= current) && scale > 1e-12) {
      scale /= 2;
      next = theta.map((v, i) => v + scale * step[i]!);
      value = stat(next);
    }
    if (!(value <= current)) break; // no descent left at float precision: the minimum
    flat = value === current;
    theta.splice(0, 3, ...next);
    current = value;
    if (theta.some((v) => !Number.isFinite(v) || Math.abs(v) > RUNAWAY))
      return { failed: 'a parameter runs off to infinity (the statistic has no minimum)' };
  }
  const parameters = { ...start, norm: Math.exp(theta[0]!), [aName]: theta[1]!, [bName]: theta[2]! };
  const covariance = invert3(hessian);
  const errors: FovShapeParameters = {};
  if (covariance) {
    // ln norm's variance to norm's, by the delta method (exact at the minimum, where the gradient is 0).
    errors['norm'] = (parameters['norm'] as number) * Math.sqrt(covariance[0]![0]!);
    errors[aName] = Math.sqrt(covariance[1]![1]!);
    errors[bName] = Math.sqrt(covariance[2]![2]!);
  }
  return { parameters, errors };
}

export function isFitFailure(v: FovShapeFit | FovShapeFitFailure): v is FovShapeFitFailure {
  return 'failed' in v;
}

function det3(m: number[][]): number {
  const [a, b, c] = m as [number[], number[], number[]];
  return (
    a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) -
    a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) +
    a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!)
  );
}

/** The inverse of a symmetric positive 3×3 matrix, undefined when (numerically) singular. */
function invert3(m: number[][]): number[][] | undefined {
  const d = det3(m);
  const size = Math.max(...m.flat().map(Math.abs));
  if (!Number.isFinite(d) || Math.abs(d) <= 1e-14 * size ** 3) return undefined;
  const out: number[][] = [[], [], []];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      const r = [0, 1, 2].filter((x) => x !== j);
      const c = [0, 1, 2].filter((x) => x !== i);
      const minor = m[r[0]!]![c[0]!]! * m[r[1]!]![c[1]!]! - m[r[0]!]![c[1]!]! * m[r[1]!]![c[0]!]!;
      out[i]![j] = ((i + j) % 2 === 0 ? 1 : -1) * (minor / d);
    }
  return out;
}

function solve3(m: number[][], rhs: number[]): number[] | undefined {
  const inv = invert3(m);
  return inv?.map((row) => row[0]! * rhs[0]! + row[1]! * rhs[1]! + row[2]! * rhs[2]!);
}
