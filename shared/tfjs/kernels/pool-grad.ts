// Max- and average-pooling gradients (NHWC) for the wasm backend: single scatter passes over the
// output grid with the channel loop innermost (contiguous in NHWC), instead of the backend's
// per-input-pixel gather. Semantics match the cpu backend: the max gradient goes to the first
// maximum of each window; the average gradient is dy / (filterHeight * filterWidth).
import {
  AvgPoolGrad,
  backend_util,
  MaxPoolGrad,
  type AvgPoolGradAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { empty, f32, zeros } from './wasm-memory.js';
import { heapOffset, simdKernels } from './simd.js';

type Shape4 = [number, number, number, number];

function maxPoolGradTiled(x: Float32Array, dy: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo): void {
  const { batchSize: B, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW } = info;
  const rowStride = W * C;
  let g = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const rowBase = (b * OH + oy) * FH * rowStride;
      for (let ox = 0; ox < OW; ox++) {
        const base = rowBase + ox * FW * C;
        for (let c = 0; c < C; c++, g++) {
          let at = base + c;
          let best = x[at]!;
          for (let fy = 0; fy < FH; fy++) {
            let i = base + fy * rowStride + c;
            for (let fx = 0; fx < FW; fx++, i += C) {
              const v = x[i]!;
              if (v > best) {
                best = v;
                at = i;
              }
              dx[i] = 0;
            }
          }
          dx[at] = dy[g]!;
        }
      }
    }
  }
}

function maxPoolGrad(args: { inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo }; backend: BackendWasm; attrs: MaxPoolGradAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const info = backend_util.computePool2DInfo(inputs.input.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  if (PT === 0 && PL === 0 && SH === FH && SW === FW && H === OH * FH && W === OW * FW) {
    // Windows tile the input exactly (e.g. 2x2 stride 2 on even sizes): every input element
    // belongs to one window, so dx is written once, without zero-filling or scratch arrays.
    const dxTiled = empty(backend, inputs.input.shape.slice());
    if (FH === 2 && FW === 2) {
      // SIMD over channels (simd-kernels.wat maxpool_grad_2x2)
      const at = (t: TensorInfo) => heapOffset(backend, t);
      if (B * OH * OW * C > 0) simdKernels(backend).maxpool_grad_2x2(at(inputs.input), at(inputs.dy), at(dxTiled), B * OH, OW, C);
      return dxTiled;
    }
    maxPoolGradTiled(f32(backend, inputs.input), f32(backend, inputs.dy), f32(backend, dxTiled), info);
    return dxTiled;
  }
  const dxInfo = zeros(backend, inputs.input.shape.slice());
  const x = f32(backend, inputs.input);
  const dy = f32(backend, inputs.dy);
  const dx = f32(backend, dxInfo);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = Math.max(0, oy * SH - PT);
      const y1 = Math.min(H, oy * SH - PT + FH);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = Math.max(0, ox * SW - PL);
        const x1 = Math.min(W, ox * SW - PL + FW);
        best.fill(-Infinity);
        where.fill(-1);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const base = ((b * H + iy) * W + ix) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const g = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          const at = where[c]!;
          if (at >= 0) dx[at] += dy[g + c]!;
        }
      }
    }
  }
  return dxInfo;
}

function avgPoolGrad(args: { inputs: { dy: TensorInfo; input: TensorInfo }; backend: BackendWasm; attrs: AvgPoolGradAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const info = backend_util.computePool2DInfo(inputs.input.shape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const PT = info.padInfo.top;
  const PL = info.padInfo.left;
  const scale = 1 / (FH * FW);
  const dxInfo = zeros(backend, inputs.input.shape.slice());
  const dy = f32(backend, inputs.dy);
  const dx = f32(backend, dxInfo);
  const g = new Float32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = Math.max(0, oy * SH - PT);
      const y1 = Math.min(H, oy * SH - PT + FH);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = Math.max(0, ox * SW - PL);
        const x1 = Math.min(W, ox * SW - PL + FW);
        const src = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) g[c] = dy[src + c]! * scale;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const base = ((b * H + iy) * W + ix) * C;
            for (let c = 0; c < C; c++) dx[base + c] += g[c]!;
          }
        }
      }
    }
  }
  return dxInfo;
}

export const maxPoolGradConfig: KernelConfig = { kernelName: MaxPoolGrad, backendName: 'wasm', kernelFunc: maxPoolGrad as unknown as KernelFunc };
export const avgPoolGradConfig: KernelConfig = { kernelName: AvgPoolGrad, backendName: 'wasm', kernelFunc: avgPoolGrad as unknown as KernelFunc };
