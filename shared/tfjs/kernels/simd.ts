// The project's SIMD kernels (simd-kernels.wat), instantiated on the tfjs wasm backend's own memory
// so they read and write tensors in place. One instance per backend memory (worker threads each
// have their own backend).
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SIMD_KERNELS_WASM_BASE64 } from './simd-kernels.wasm.js';

export interface SimdKernels {
  add_bias(a: number, v: number, out: number, rows: number, C: number): void;
  sum_rows(x: number, out: number, rows: number, C: number): void;
  maxpool_grad_2x2(x: number, dy: number, dx: number, outRows: number, OW: number, C: number): void;
  conv_filter_grad(x: number, dy: number, out: number, scratch: number, R: number, B: number, H: number, W: number, C: number,
    OH: number, OW: number, FH: number, FW: number, SH: number, DH: number, PT: number, PL: number, O: number): void;
  gemm_nt(a: number, b: number, out: number, K: number, M: number, O: number): void;
  relu_grad(dy: number, x: number, out: number, n: number): void;
  conv3x3_c1(x: number, w: number, out: number, B: number, H: number, W: number, O: number): void;
}

// The WebAssembly API of the runtime (the project's TypeScript lib has no declarations for it).
type WasmMemory = object;
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: WasmModule | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels>();

/** The kernels bound to `backend`'s memory (compiled once per thread, instantiated once per memory). */
export function simdKernels(backend: BackendWasm): SimdKernels {
  const memory = (backend.wasm as unknown as { asm: { memory: WasmMemory } }).asm.memory;
  let k = instances.get(memory);
  if (!k) {
    compiled ??= new WA.Module(Buffer.from(SIMD_KERNELS_WASM_BASE64, 'base64'));
    k = new WA.Instance(compiled, { env: { memory } }).exports as unknown as SimdKernels;
    instances.set(memory, k);
  }
  return k;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error('tensor is not on the wasm backend');
  return data.memoryOffset;
}
