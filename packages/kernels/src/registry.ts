// Which source files make up each kernel, per backend, and whether its backends are proven
// bit-identical. One file per kernel and backend, so that editing one kernel changes only its identity.

/** Kernels with compiled (WASM and native) backends. */
export const COMPILED_KERNELS = [
  'correlateDisk',
  'cashStatistics',
  'binEvents',
  'evalAeffMap',
  'evalBkgMap',
  'stackAdd',
] as const;

export type KernelName = (typeof COMPILED_KERNELS)[number];

/** The sources of one kernel, relative to the package root. */
export interface KernelSources {
  /** TypeScript reference (the specification); runs as the 'js' backend. */
  reference: string[];
  /** AssemblyScript entry and the shared helpers it imports. */
  assembly: string[];
  /** Rust module of the kernel and the shared helpers it uses. */
  native: string[];
  /**
   * True when the test suite (test/backends-identity.test.ts) shows every backend produces the same
   * bits as the reference; the backend then does not enter the kernel's identity.
   */
  bitIdentical: boolean;
}

const ASSEMBLY_SHARED = ['assembly/common.ts'];
const NATIVE_SHARED = ['native/src/common.rs'];

function compiled(name: string, reference: string, bitIdentical: boolean, extraAssembly: string[] = [], extraNative: string[] = []): KernelSources {
  const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return {
    reference: [`src/reference/${reference}`],
    assembly: [`assembly/${name}.ts`, ...extraAssembly, ...ASSEMBLY_SHARED],
    native: [`native/src/${snake}.rs`, ...extraNative, ...NATIVE_SHARED],
    bitIdentical,
  };
}

const KERNELS: Record<KernelName, KernelSources> = {
  correlateDisk: compiled('correlateDisk', 'correlate.ts', true),
  cashStatistics: compiled('cashStatistics', 'stats.ts', true, ['assembly/fdlibm.ts'], ['native/src/fdlibm.rs']),
  binEvents: compiled('binEvents', 'index.ts', true, ['assembly/fdlibm.ts'], ['native/src/fdlibm.rs']),
  evalAeffMap: compiled('evalAeffMap', 'index.ts', false),
  evalBkgMap: compiled('evalBkgMap', 'index.ts', false),
  stackAdd: compiled('stackAdd', 'index.ts', true),
};

/** Names of the kernels that have AssemblyScript and Rust sources. */
export function compiledKernelNames(): KernelName[] {
  return [...COMPILED_KERNELS];
}

/** Source description of a compiled kernel, or undefined for a reference-only one. */
export function kernelSources(name: string): KernelSources | undefined {
  return (KERNELS as Record<string, KernelSources>)[name];
}

/** Reference file of a kernel that exists only in TypeScript (no compiled backends). */
export function referenceOnlySources(): string[] {
  return ['src/reference/index.ts'];
}
