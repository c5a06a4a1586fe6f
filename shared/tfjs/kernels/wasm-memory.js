// Direct access to the tfjs wasm backend's memory for our kernels: float32 views onto tensors in
// the wasm heap (no copies), scratch tensors, and calls into the backend's own (XNNPACK) kernels.
import { getKernel } from '@tensorflow/tfjs-core';
/**
 * A float32 view onto a tensor's bytes in the wasm heap. Any allocation in the wasm module may grow
 * (and so detach) the heap: take views only after every output and scratch tensor is allocated.
 */
export function f32(backend, t) {
    const data = backend.dataIdMap.get(t.dataId);
    if (!data)
        throw new Error('tensor is not on the wasm backend');
    if (t.dtype !== 'float32')
        throw new Error(`expected a float32 tensor, got ${t.dtype}`);
    const heap = backend.wasm.HEAPF32;
    const n = t.shape.reduce((a, b) => a * b, 1);
    return new Float32Array(heap.buffer, data.memoryOffset, n);
}
/** A float32 tensor on the wasm backend whose contents are zero. */
export function zeros(backend, shape) {
    const out = backend.makeOutput(shape, 'float32');
    f32(backend, out).fill(0);
    return out;
}
/** A float32 tensor on the wasm backend with unspecified contents (callers overwrite every element). */
export function empty(backend, shape) {
    return backend.makeOutput(shape, 'float32');
}
/** Frees a scratch tensor made by `zeros`/`empty` or returned by `callKernel`. */
export function release(backend, t) {
    backend.disposeData(t.dataId);
}
/** Runs one of the wasm backend's own registered kernels directly (no tape, no engine bookkeeping). */
export function callKernel(backend, name, inputs, attrs) {
    const k = getKernel(name, 'wasm');
    if (!k)
        throw new Error(`the wasm backend has no ${name} kernel`);
    const out = k.kernelFunc({ inputs, backend, attrs });
    if (Array.isArray(out))
        throw new Error(`${name} returned several outputs`);
    return out;
}
//# sourceMappingURL=wasm-memory.js.map