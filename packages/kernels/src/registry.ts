// Which source files make up each kernel, per backend, and whether its backends are proven
// bit-identical. One file per kernel and backend, so that editing one kernel changes only its identity
// (plus the few shared helpers each kernel lists explicitly).

/** Kernels with compiled (WASM and native) backends. */
export const COMPILED_KERNELS = [
  'correlateDisk',
  'cashStatistics',
  'binEvents',
  'evalAeffMap',
  'stackAdd',
  'stackMaskOr',
  'stackIrfWeighted',
  'evalPsfMap',
  'evalEdispKernelMap',
  'evalBkgMap',
] as const;

export type KernelName = (typeof COMPILED_KERNELS)[number];

/** WASM modules that are not kernels: test probes of the shared math (built with the kernels). */
export const AUXILIARY_WASM_MODULES = ['mathProbe'] as const;

/** The sources of one kernel, relative to the package root. */
export interface KernelSources {
  /** TypeScript reference (the specification) and its helpers; runs as the 'js' backend. */
  reference: string[];
  /** AssemblyScript entry, the shared helpers it imports, and its JavaScript adapter. */
  assembly: string[];
  /** Rust module of the kernel, the shared helpers it uses, and its JavaScript adapter. */
  native: string[];
  /**
   * True when the test suite (test/backends*.test.ts) shows every backend produces the same bits as
   * the reference; the backend and compiler then do not enter the kernel's identity.
   */
  bitIdentical: boolean;
}

// The marshalling layer (src/wasm/module.ts, src/wasm/backend.ts) only copies arrays and is covered by
// the differential tests; it is not part of any kernel's identity.
const ASSEMBLY_SHARED = ['assembly/common.ts'];
const NATIVE_SHARED = ['native/src/common.rs', 'native/Cargo.toml'];

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

interface CompiledSpec {
  reference: string[];
  bitIdentical: boolean;
  assemblyExtra?: string[];
  nativeExtra?: string[];
}

function compiled(name: string, spec: CompiledSpec): KernelSources {
  return {
    reference: spec.reference.map((f) => `src/reference/${f}`),
    assembly: [`assembly/${name}.ts`, ...(spec.assemblyExtra ?? []), ...ASSEMBLY_SHARED],
    native: [`native/src/${snake(name)}.rs`, ...(spec.nativeExtra ?? []), ...NATIVE_SHARED],
    bitIdentical: spec.bitIdentical,
  };
}

const KERNELS: Record<KernelName, KernelSources> = {
  correlateDisk: compiled('correlateDisk', {
    reference: ['correlate.ts'],
    bitIdentical: true,
    nativeExtra: ['native/src/correlate_fft.rs'],
  }),
  cashStatistics: compiled('cashStatistics', {
    reference: ['stats.ts'],
    bitIdentical: true,
    assemblyExtra: ['assembly/fdlibm.ts'],
    nativeExtra: ['native/src/fdlibm.rs'],
  }),
  // Counts are integers and the undecided events go to the reference itself: bit-identical by design.
  binEvents: compiled('binEvents', {
    reference: ['bin-events.ts', 'sky.ts'],
    bitIdentical: true,
    assemblyExtra: ['assembly/binEventsFloat32.ts', 'src/wasm/bin-events.ts', 'src/bin-events-fallback.ts'],
    nativeExtra: ['src/native/bin-events.ts', 'src/bin-events-fallback.ts'],
  }),
  evalAeffMap: compiled('evalAeffMap', {
    reference: ['aeff-map.ts', 'interp.ts'],
    bitIdentical: true,
    assemblyExtra: ['assembly/fdlibm.ts', 'assembly/interp.ts'],
    nativeExtra: ['native/src/fdlibm.rs', 'native/src/interp.rs'],
  }),
  stackAdd: compiled('stackAdd', { reference: ['stack.ts'], bitIdentical: true }),
  // Byte logic only: bit-identical by construction.
  stackMaskOr: compiled('stackMaskOr', { reference: ['stack.ts'], bitIdentical: true }),
  // float64 products and sums in the reference's order, no FMA: bit-identical.
  stackIrfWeighted: compiled('stackIrfWeighted', { reference: ['stack.ts'], bitIdentical: true }),
  evalPsfMap: compiled('evalPsfMap', {
    reference: ['irf-maps.ts', 'interp.ts'],
    bitIdentical: true,
    assemblyExtra: ['assembly/fdlibm.ts', 'assembly/interp.ts'],
    nativeExtra: ['native/src/fdlibm.rs', 'native/src/interp.rs'],
  }),
  evalBkgMap: compiled('evalBkgMap', {
    reference: ['bkg-map.ts', 'interp.ts'],
    bitIdentical: true,
    assemblyExtra: ['assembly/fdlibm.ts', 'assembly/fdlibmExp.ts', 'assembly/interp.ts'],
    nativeExtra: ['native/src/fdlibm.rs', 'native/src/fdlibm_exp.rs', 'native/src/interp.rs'],
  }),
  evalEdispKernelMap: compiled('evalEdispKernelMap', {
    reference: ['irf-maps.ts', 'interp.ts'],
    bitIdentical: true,
    assemblyExtra: ['assembly/fdlibm.ts', 'assembly/interp.ts'],
    nativeExtra: ['native/src/fdlibm.rs', 'native/src/interp.rs'],
  }),
};

/** Reference-only kernels (no compiled backends yet): their reference files. */
const REFERENCE_ONLY: Record<string, string[]> = {
  pixelFovCoords: ['pixel-geometry.ts', 'sky.ts'],
  sampleNearest: ['pixel-geometry.ts', 'sky.ts'],
};

/** Names of the kernels that have AssemblyScript and Rust sources. */
export function compiledKernelNames(): KernelName[] {
  return [...COMPILED_KERNELS];
}

/** Source description of a compiled kernel, or undefined for a reference-only one. */
export function kernelSources(name: string): KernelSources | undefined {
  return (KERNELS as Record<string, KernelSources>)[name];
}

/** Reference files of a kernel that exists only in TypeScript; the whole reference folder if unknown. */
export function referenceOnlySources(name: string): string[] {
  const files = REFERENCE_ONLY[name];
  return files ? files.map((f) => `src/reference/${f}`) : ['src/reference/index.ts'];
}

/** Every kernel name a step may declare (`kernels:` of its definition): the compiled ones and the reference-only ones. */
export function knownKernelNames(): string[] {
  return [...COMPILED_KERNELS, ...Object.keys(REFERENCE_ONLY)];
}

/** Whether `name` is a kernel of the reference set that this registry knows. */
export function isKnownKernel(name: string): boolean {
  // Own keys only: `toString` is in every object, and no kernel.
  return Object.hasOwn(KERNELS, name) || Object.hasOwn(REFERENCE_ONLY, name);
}
