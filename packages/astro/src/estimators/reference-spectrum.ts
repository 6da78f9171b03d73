/**
 * The power-law reference spectrum of the excess/flux maps (science spec §7.5): its integrals over energy
 * bins, which turn a norm map into flux, dnde, e2dnde and eflux maps.
 */

/** φ(E) = amplitude · (E / reference)^−index. Energies in TeV, amplitude in cm⁻² s⁻¹ TeV⁻¹. */
export interface PowerLawSpectrum {
  index: number;
  amplitude: number;
  referenceTeV: number;
}

/** gammapy's default for the excess map: index 2, 1e-12 cm⁻² s⁻¹ TeV⁻¹ at 1 TeV. */
export const DEFAULT_REFERENCE_SPECTRUM: Readonly<PowerLawSpectrum> = Object.freeze({
  index: 2,
  amplitude: 1e-12,
  referenceTeV: 1,
});

/** Quantities of the reference spectrum for one energy bin [eMin, eMax] (TeV). */
export interface ReferenceBinValues {
  eMin: number;
  eMax: number;
  /** Log centre √(eMin·eMax), where dnde and e2dnde are evaluated. */
  eRef: number;
  /** ∫φ dE, cm⁻² s⁻¹. */
  flux: number;
  /** φ(eRef), cm⁻² s⁻¹ TeV⁻¹. */
  dnde: number;
  /** eRef²·φ(eRef), TeV cm⁻² s⁻¹. */
  e2dnde: number;
  /** ∫E·φ dE, TeV cm⁻² s⁻¹. */
  eflux: number;
}

/** φ(E) in cm⁻² s⁻¹ TeV⁻¹. */
export function powerLawDnde(p: PowerLawSpectrum, eTeV: number): number {
  return p.amplitude * (eTeV / p.referenceTeV) ** -p.index;
}

/**
 * ∫_{eMin}^{eMax} E^k φ(E) dE for k = 0 (flux) or 1 (energy flux), analytic. The logarithmic form is used
 * where the exponent 1 + k − index is close to 0 (numpy isclose, as gammapy does for k = 1).
 */
export function powerLawIntegral(p: PowerLawSpectrum, eMin: number, eMax: number, k: 0 | 1): number {
  const e0 = p.referenceTeV;
  const g = 1 + k - p.index;
  const scale = p.amplitude * e0 ** (1 + k);
  if (Math.abs(g) <= 1e-8) return scale * Math.log(eMax / eMin);
  return (scale / g) * ((eMax / e0) ** g - (eMin / e0) ** g);
}

/** Reference values for one bin. */
export function referenceBinValues(p: PowerLawSpectrum, eMin: number, eMax: number): ReferenceBinValues {
  const eRef = Math.sqrt(eMin * eMax);
  const dnde = powerLawDnde(p, eRef);
  return {
    eMin,
    eMax,
    eRef,
    flux: powerLawIntegral(p, eMin, eMax, 0),
    dnde,
    e2dnde: eRef * eRef * dnde,
    eflux: powerLawIntegral(p, eMin, eMax, 1),
  };
}

/** Integral flux of the spectrum in each true-energy bin (edges in TeV, n + 1 values), cm⁻² s⁻¹. */
export function binFluxes(p: PowerLawSpectrum, edgesTeV: ArrayLike<number>): Float64Array {
  const out = new Float64Array(edgesTeV.length - 1);
  for (let t = 0; t < out.length; t++)
    out[t] = powerLawIntegral(p, edgesTeV[t] as number, edgesTeV[t + 1] as number, 0);
  return out;
}
