import { type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
/**
 * A float32 view onto a tensor's bytes in the wasm heap. Any allocation in the wasm module may grow
 * (and so detach) the heap: take views only after every output and scratch tensor is allocated.
 */
export declare function f32(backend: BackendWasm, t: TensorInfo): Float32Array;
/** A float32 tensor on the wasm backend whose contents are zero. */
export declare function zeros(backend: BackendWasm, shape: number[]): TensorInfo;
/** A float32 tensor on the wasm backend with unspecified contents (callers overwrite every element). */
export declare function empty(backend: BackendWasm, shape: number[]): TensorInfo;
/** Frees a scratch tensor made by `zeros`/`empty` or returned by `callKernel`. */
export declare function release(backend: BackendWasm, t: TensorInfo): void;
/** Runs one of the wasm backend's own registered kernels directly (no tape, no engine bookkeeping). */
export declare function callKernel(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo;
