// Gradients of 2-D convolution (NHWC) for the wasm backend:
//  - filter gradient: im2col of x laid out [K, M] (K = fh*fw*inC, M = batch*outH*outW) times dy
//    transposed to [outC, M], in SIMD wasm (simd-kernels.wat; for unit horizontal stride the
//    im2col is made a few output rows at a time into a cache-sized scratch); the result
//    [K, outC] is the filter layout [fh, fw, inC, outC] as is.
//  - input gradient: a forward Conv2D of dy (zero-dilated when strided) with the spatially flipped,
//    in/out-transposed filter and explicit padding; a direct loop covers the rare geometry where
//    that padding would be negative.
import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel, empty, f32, release, zeros } from './wasm-memory.js';
import { heapOffset, simdKernels } from './simd.js';

type Shape4 = [number, number, number, number];

function channelsLastInfo(
  xShape: Shape4,
  filterShape: Shape4,
  attrs: { strides: number | [number, number]; pad: Conv2DBackpropFilterAttrs['pad']; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
  kernel: string,
): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got ${attrs.dataFormat}`);
  return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/** Writes im2col(x) transposed, [K, M], into `col` (K = fh*fw*inC rows, M = batch*outH*outW columns). */
export function im2colTransposed(x: Float32Array, col: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const M = B * OH * OW;
  for (let fy = 0; fy < FH; fy++) {
    for (let fx = 0; fx < FW; fx++) {
      const xOff = fx * DW - PL;
      // output columns whose input column is inside the image: lo <= ox < hi
      const lo = Math.min(OW, Math.max(0, Math.ceil(-xOff / SW)));
      const hi = Math.max(lo, Math.min(OW, Math.ceil((W - xOff) / SW)));
      for (let c = 0; c < C; c++) {
        let p = ((fy * FW + fx) * C + c) * M;
        for (let b = 0; b < B; b++) {
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * SH + fy * DH - PT;
            if (iy < 0 || iy >= H) {
              col.fill(0, p, p + OW);
              p += OW;
              continue;
            }
            const rowBase = (b * H + iy) * W;
            for (let ox = 0; ox < lo; ox++) col[p + ox] = 0;
            let src = (rowBase + lo * SW + xOff) * C + c;
            const step = SW * C;
            for (let ox = lo; ox < hi; ox++) {
              col[p + ox] = x[src]!;
              src += step;
            }
            for (let ox = hi; ox < OW; ox++) col[p + ox] = 0;
            p += OW;
          }
        }
      }
    }
  }
}

function conv2DBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as Shape4;
  const info = channelsLastInfo(x.shape as Shape4, filterShape, attrs, Conv2DBackpropFilter);
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const M = info.batchSize * info.outHeight * info.outWidth;
  const O = info.outChannels;
  const out = empty(backend, filterShape.slice());
  if (K === 0 || M === 0 || O === 0) {
    f32(backend, out).fill(0);
    return out;
  }
  // dy planar [O, B, OH, OW] = [O, M]: rows of the product's second operand are contiguous.
  const dyT = O === 1 ? dy : callKernel(backend, 'Transpose', { x: dy }, { perm: [3, 0, 1, 2] });
  if (info.strideWidth === 1 && info.dilationWidth === 1) {
    // x in planar layout [C, B, H, W]: every run of the im2col matrix is one contiguous copy. The
    // matrix is made R output rows at a time into a scratch of at most 64 Ki floats (256 KB, in
    // cache) and multiplied at once (simd-kernels.wat conv_filter_grad).
    const planar = info.inChannels === 1 ? x : callKernel(backend, 'Transpose', { x }, { perm: [3, 0, 1, 2] });
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const R = Math.max(1, Math.floor(Math.min(2048, Math.floor(65536 / K)) / OW));
    const scratch = empty(backend, [K * R * OW]);
    simdKernels(backend).conv_filter_grad(heapOffset(backend, planar), heapOffset(backend, dyT), heapOffset(backend, out), heapOffset(backend, scratch),
      R, B, H, W, C, OH, OW, info.filterHeight, info.filterWidth, info.strideHeight, info.dilationHeight, info.padInfo.top, info.padInfo.left, O);
    release(backend, scratch);
    if (planar !== x) release(backend, planar);
  } else {
    // the whole im2col matrix [K, M] (JavaScript), then the SIMD GEMM (gemm_nt)
    const col = empty(backend, [K, M]);
    im2colTransposed(f32(backend, x), f32(backend, col), info);
    simdKernels(backend).gemm_nt(heapOffset(backend, col), heapOffset(backend, dyT), heapOffset(backend, out), K, M, O);
    release(backend, col);
  }
  if (dyT !== dy) release(backend, dyT);
  return out;
}

/** Filter [fh, fw, inC, outC] -> spatially flipped, channel-swapped [fh, fw, outC, inC]. */
function flipTranspose(w: Float32Array, out: Float32Array, FH: number, FW: number, C: number, O: number): void {
  for (let fy = 0; fy < FH; fy++) {
    for (let fx = 0; fx < FW; fx++) {
      const src = ((FH - 1 - fy) * FW + (FW - 1 - fx)) * C * O;
      const dst = (fy * FW + fx) * O * C;
      for (let c = 0; c < C; c++) {
        for (let o = 0; o < O; o++) out[dst + o * C + c] = w[src + c * O + o]!;
      }
    }
  }
}

/** Direct input gradient, for geometries the flipped-filter convolution cannot express. */
function backpropInputDirect(dy: Float32Array, w: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  dx.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const g = ((b * OH + oy) * OW + ox) * O;
        for (let fy = 0; fy < FH; fy++) {
          const iy = oy * SH + fy - PT;
          if (iy < 0 || iy >= H) continue;
          for (let fx = 0; fx < FW; fx++) {
            const ix = ox * SW + fx - PL;
            if (ix < 0 || ix >= W) continue;
            const d = ((b * H + iy) * W + ix) * C;
            const wb = (fy * FW + fx) * C * O;
            for (let c = 0; c < C; c++) {
              let acc = 0;
              const wc = wb + c * O;
              for (let o = 0; o < O; o++) acc += dy[g + o]! * w[wc + o]!;
              dx[d + c] += acc;
            }
          }
        }
      }
    }
  }
}

function conv2DBackpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropInputAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as Shape4;
  const info = channelsLastInfo(inputShape, filter.shape as Shape4, attrs, Conv2DBackpropInput);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const LH = (OH - 1) * SH + 1;
  const LW = (OW - 1) * SW + 1;
  const pt = FH - 1 - info.padInfo.top;
  const pl = FW - 1 - info.padInfo.left;
  const pb = H - LH - pt + FH - 1;
  const pr = W - LW - pl + FW - 1;
  if (pt < 0 || pl < 0 || pb < 0 || pr < 0 || OH === 0 || OW === 0) {
    const dx = empty(backend, inputShape);
    backpropInputDirect(f32(backend, dy), f32(backend, filter), f32(backend, dx), info);
    return dx;
  }
  const wt = empty(backend, [FH, FW, O, C]);
  let src: TensorInfo = dy;
  if (SH > 1 || SW > 1) {
    src = zeros(backend, [B, LH, LW, O]);
    const d = f32(backend, dy);
    const s = f32(backend, src);
    for (let b = 0; b < B; b++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          s.set(d.subarray(((b * OH + oy) * OW + ox) * O, ((b * OH + oy) * OW + ox + 1) * O), ((b * LH + oy * SH) * LW + ox * SW) * O);
        }
      }
    }
  }
  flipTranspose(f32(backend, filter), f32(backend, wt), FH, FW, C, O);
  const dx = callKernel(backend, 'Conv2D', { x: src, filter: wt }, {
    strides: [1, 1],
    pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [1, 1],
  });
  release(backend, wt);
  if (src !== dy) release(backend, src);
  return dx;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
