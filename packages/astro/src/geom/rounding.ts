/** Round half to even, as numpy.rint (JavaScript's Math.round rounds half up). NaN stays NaN. */
export { rint as roundHalfEven } from '@pipe/kernels/scalars';
