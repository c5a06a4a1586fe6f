// Cheap replacements for wasm kernels that a training step calls on every large activation and
// that the backend implements with a copy or a generic strided loop (profile of the DDFN at 128 px,
// batch 16: these were ~20% of a step):
//  - Identity (the tape clones every tensor it saves for the backward pass) and Cast to the same
//    dtype (ReLU's gradient casts its float mask to float): share the data (reference count), as
//    the cpu backend does, instead of copying it;
//  - Add of a per-channel vector to an NHWC tensor (conv and dense bias): one SIMD pass
//    (simd-kernels.wat add_bias) instead of the backend's broadcasting loop;
//  - Sum over the leading axes (the bias gradient): SIMD row accumulation in float64 (sum_rows)
//    instead of a transpose of the whole tensor followed by a reduction (plain JavaScript loops
//    for these two were measured slower than the backend's own kernels);
//  - ReLU's gradient: one SIMD pass (relu_grad: x > 0 ? dy : 0) instead of step, cast and
//    multiply (three kernels, two full-size temporaries); a gradient override that keeps tfjs's
//    formula on every other backend;
//  - Conv2D of a one-channel input with a 3x3 filter, stride 1, 'same' (DDFN's first layer on
//    grey images) to 4k channels: a direct SIMD convolution (conv3x3_c1); XNNPACK's igemm spends
//    most of its time on the indirection for a 9-term reduction.
// Every other case falls through to the backend's own kernel.
import { Add, backend_util, Cast, cast as castOp, Conv2D, engine, getBackend, getKernel, Identity, mul, Relu, step, Sum, type GradConfig, type Tensor, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, simdKernels } from './simd.js';

type Args = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: NamedAttrMap };

/** The backend's own kernels, captured before ours replace them. */
const original = new Map<string, KernelConfig>();

/** Remembers the wasm backend's kernel for `name` (once), so our kernel can fall back to it. */
export function captureOriginal(name: string): void {
  if (original.has(name)) return;
  const k = getKernel(name, 'wasm');
  if (!k || (WRAPPING_KERNELS as readonly KernelConfig[]).includes(k)) throw new Error(`the wasm backend has no ${name} kernel of its own to fall back to`);
  original.set(name, k);
}

function fallback(name: string, args: Args): TensorInfo {
  const k = original.get(name);
  if (!k) throw new Error(`${name}: the wasm backend's kernel was not captured (call registerWasmTrainingKernels)`);
  return k.kernelFunc(args as never) as TensorInfo;
}

/** The engine runs a backend's kernel setup when the backend starts: pass it on to the original. */
const setupOriginal = (name: string) => (backend: unknown) => original.get(name)?.setupFunc?.(backend as never);

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function share(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

function identity(args: Args): TensorInfo {
  const { x } = args.inputs;
  if (x!.dtype === 'string') return fallback(Identity, args);
  return share(args.backend, x!);
}

function cast(args: Args): TensorInfo {
  const { x } = args.inputs;
  if (x!.dtype === args.attrs.dtype && x!.dtype !== 'string') return share(args.backend, x!);
  return fallback(Cast, args);
}

function add(args: Args): TensorInfo {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  if (a.dtype === 'float32' && b.dtype === 'float32') {
    // Which operand (if any) is a vector along the other's last axis.
    const vectorOf = (big: TensorInfo, small: TensorInfo) => {
      const C = big.shape.at(-1);
      return big.shape.length >= 2 && C !== undefined && C > 0 && size(small.shape) === C && small.shape.at(-1) === C && small.shape.length <= big.shape.length;
    };
    const pair = vectorOf(a, b) ? [a, b] : vectorOf(b, a) ? [b, a] : undefined;
    if (pair && size(pair[0]!.shape) > 0) {
      const [big, vec] = pair as [TensorInfo, TensorInfo];
      const { backend } = args;
      const out = backend.makeOutput(big.shape.slice(), 'float32');
      const C = big.shape.at(-1)!;
      simdKernels(backend).add_bias(heapOffset(backend, big), heapOffset(backend, vec), heapOffset(backend, out), size(big.shape) / C, C);
      return out;
    }
  }
  return fallback(Add, args);
}

function sum(args: Args): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const rank = x.shape.length;
  const raw = args.attrs.axis as number | number[];
  const axes = [...new Set((Array.isArray(raw) ? raw : [raw]).map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading || size(x.shape) === 0) return fallback(Sum, args);
  const kept = x.shape.slice(axes.length);
  const outShape = args.attrs.keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : kept;
  const { backend } = args;
  const out = backend.makeOutput(outShape, 'float32');
  const C = size(kept);
  simdKernels(backend).sum_rows(heapOffset(backend, x), heapOffset(backend, out), size(x.shape) / C, C);
  return out;
}

const config = (kernelName: string, f: (args: Args) => TensorInfo): KernelConfig => ({
  kernelName, backendName: 'wasm', kernelFunc: f as unknown as KernelFunc, setupFunc: setupOriginal(kernelName),
});
export const identityConfig = config(Identity, identity);
export const castConfig = config(Cast, cast);
export const addConfig = config(Add, add);
export const sumConfig = config(Sum, sum);
export const conv2DConfig = config(Conv2D, conv2D);

function conv2D(args: Args): TensorInfo {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as { strides: number | [number, number]; pad: 'same' | 'valid' | number; dataFormat: 'NHWC' | 'NCHW'; dilations: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  if (x.dtype === 'float32' && filter.dtype === 'float32' && a.dataFormat === 'NHWC' && x.shape.length === 4) {
    const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      a.strides, a.dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const p = info.padInfo;
    if (info.inChannels === 1 && info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
      info.dilationHeight === 1 && info.dilationWidth === 1 && p.top === 1 && p.left === 1 && p.bottom === 1 && p.right === 1 &&
      info.outChannels % 4 === 0 && info.outChannels > 0 && info.inHeight >= 3 && info.inWidth >= 3 && info.batchSize > 0) {
      const { backend } = args;
      const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
      simdKernels(backend).conv3x3_c1(heapOffset(backend, x), heapOffset(backend, filter), heapOffset(backend, out),
        info.batchSize, info.inHeight, info.inWidth, info.outChannels);
      return out;
    }
  }
  return fallback(Conv2D, args);
}

/** Kernel of the ReLU gradient on wasm: inputs dy and x (ReLU's input), output dy where x > 0, else 0. */
export const RELU_GRAD = 'FlReluGrad';

function reluGrad(args: Args): TensorInfo {
  const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || size(dy.shape) !== size(x.shape)) {
    throw new Error(`${RELU_GRAD}: expected float32 dy and x of one size, got ${dy.dtype} [${dy.shape}] and ${x.dtype} [${x.shape}]`);
  }
  const { backend } = args;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  const n = size(x.shape);
  if (n > 0) simdKernels(backend).relu_grad(heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, out), n);
  return out;
}

export const reluGradKernelConfig: KernelConfig = { kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: reluGrad as unknown as KernelFunc };

/**
 * ReLU's gradient: the wasm kernel above when the active backend is wasm, else tfjs's own
 * formula dy * step(x) (cpu, native). (For x = NaN the wasm kernel gives 0 where tfjs gives NaN.)
 */
export const reluGradConfig: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved as [Tensor];
    const g = dy as Tensor;
    return {
      x: () => (getBackend() === 'wasm' && g.dtype === 'float32' && x.dtype === 'float32'
        ? (engine().runKernel(RELU_GRAD, { dy: g, x }) as Tensor)
        : mul(g, castOp(step(x), 'float32'))),
    };
  },
};

/** Kernels that replace the backend's own and fall back to it (captured at registration). */
export const WRAPPING_KERNELS: readonly KernelConfig[] = [identityConfig, castConfig, addConfig, sumConfig, conv2DConfig];
