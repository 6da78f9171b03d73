// One instantiated kernel module and its argument arena: typed arrays are copied into linear memory
// above the module's static data (one region per argument, 16-byte aligned, memory grown as needed),
// the export is called with their addresses, and outputs are copied back. Nothing is allocated per
// element; the arena is reused by every call.
import { readFile } from 'node:fs/promises';

/** How a typed-array argument travels: copied in, copied out, or both (accumulators). */
export type ArgRole = 'in' | 'out' | 'inout';

/** A typed array as the kernels accept them. */
export type NumericArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int8Array;

const PAGE = 65536;

/** The parts of the WebAssembly JS API used here (the Node 20 typings do not declare the namespace). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: WasmInstance }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** An instantiated kernel module with its memory arena. */
export class WasmKernelModule {
  readonly memory: WasmMemory;
  private readonly base: number;
  private readonly exports: Record<string, unknown>;

  constructor(instance: WasmInstance) {
    this.exports = instance.exports as Record<string, unknown>;
    this.memory = this.exports.memory as WasmMemory;
    this.base = (this.exports.heapBase as () => number)();
  }

  /** The exported function `name`; a missing export is a build bug. */
  fn<T extends (...args: never[]) => unknown>(name: string): T {
    const f = this.exports[name];
    if (typeof f !== 'function') throw new Error(`wasm module has no export "${name}"`);
    return f as T;
  }

  /** Reserves consecutive regions of the given byte sizes; returns their addresses. */
  layout(byteSizes: readonly number[]): number[] {
    const offsets: number[] = [];
    let at = this.base;
    for (const size of byteSizes) {
      offsets.push(at);
      at += (size + 15) & ~15;
    }
    const have = this.memory.buffer.byteLength;
    if (at > have) this.memory.grow(Math.ceil((at - have) / PAGE));
    return offsets;
  }

  /** Copies `src` into linear memory at `offset`. */
  copyIn(src: NumericArray, offset: number): void {
    new Uint8Array(this.memory.buffer, offset, src.byteLength).set(
      new Uint8Array(src.buffer, src.byteOffset, src.byteLength),
    );
  }

  /** Copies linear memory at `offset` back into `dst`. */
  copyOut(dst: NumericArray, offset: number): void {
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(
      new Uint8Array(this.memory.buffer, offset, dst.byteLength),
    );
  }

  /**
   * Calls `name` with typed arrays replaced by their addresses in the arena. `roles[i]` gives the
   * role of argument i when it is a typed array; other arguments (numbers) pass through.
   */
  call(name: string, roles: readonly (ArgRole | null)[], args: readonly unknown[]): unknown {
    const f = this.fn<(...a: number[]) => unknown>(name);
    const sizes: number[] = [];
    for (let i = 0; i < args.length; i++) if (roles[i]) sizes.push((args[i] as NumericArray).byteLength);
    const offsets = this.layout(sizes);
    const callArgs: number[] = [];
    let k = 0;
    for (let i = 0; i < args.length; i++) {
      const role = roles[i];
      if (!role) {
        callArgs.push(args[i] as number);
        continue;
      }
      const offset = offsets[k++] as number;
      if (role !== 'out') this.copyIn(args[i] as NumericArray, offset);
      callArgs.push(offset);
    }
    const result = f(...callArgs);
    k = 0;
    for (let i = 0; i < args.length; i++) {
      const role = roles[i];
      if (!role) continue;
      const offset = offsets[k++] as number;
      if (role !== 'in') this.copyOut(args[i] as NumericArray, offset);
    }
    return result;
  }
}

/** Reads and instantiates one kernel module (no imports: the kernels are self-contained). */
export async function instantiateKernelModule(path: string): Promise<WasmKernelModule> {
  const bytes = await readFile(path);
  const { instance } = await wasmApi.instantiate(bytes, { env: { abort: wasmAbort } });
  return new WasmKernelModule(instance);
}

function wasmAbort(): never {
  throw new Error('wasm kernel aborted (assertion failed in a debug build)');
}
