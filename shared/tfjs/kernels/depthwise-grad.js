// Depthwise 2-D convolution gradients (NHWC, any channel multiplier, strides, dilations, padding)
// for the wasm backend, which has the forward kernel only. Single scatter passes over the output
// grid with channels innermost (contiguous in NHWC), reading and writing wasm memory in place.
import { backend_util, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput, } from '@tensorflow/tfjs-core';
import { empty, f32, zeros } from './wasm-memory.js';
function depthwiseInfo(xShape, filterShape, attrs) {
    return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
}
function backpropFilter(args) {
    const { inputs, backend, attrs } = args;
    const filterShape = attrs.filterShape;
    const info = depthwiseInfo(inputs.x.shape, filterShape, attrs);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
    const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
    const PT = info.padInfo.top;
    const PL = info.padInfo.left;
    const M = O / C;
    const acc = new Float64Array(FH * FW * O);
    const out = empty(backend, filterShape.slice());
    const x = f32(backend, inputs.x);
    const dy = f32(backend, inputs.dy);
    for (let b = 0; b < B; b++) {
        for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
                const g = ((b * OH + oy) * OW + ox) * O;
                for (let fy = 0; fy < FH; fy++) {
                    const iy = oy * SH + fy * DH - PT;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (let fx = 0; fx < FW; fx++) {
                        const ix = ox * SW + fx * DW - PL;
                        if (ix < 0 || ix >= W)
                            continue;
                        const xb = ((b * H + iy) * W + ix) * C;
                        const wb = (fy * FW + fx) * O;
                        if (M === 1) {
                            for (let c = 0; c < C; c++)
                                acc[wb + c] += x[xb + c] * dy[g + c];
                        }
                        else {
                            for (let c = 0; c < C; c++) {
                                const v = x[xb + c];
                                for (let q = 0; q < M; q++)
                                    acc[wb + c * M + q] += v * dy[g + c * M + q];
                            }
                        }
                    }
                }
            }
        }
    }
    f32(backend, out).set(acc);
    return out;
}
function backpropInput(args) {
    const { inputs, backend, attrs } = args;
    const inputShape = attrs.inputShape;
    const info = depthwiseInfo(inputShape, inputs.filter.shape, attrs);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
    const { filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW, dilationHeight: DH, dilationWidth: DW } = info;
    const PT = info.padInfo.top;
    const PL = info.padInfo.left;
    const M = O / C;
    const out = zeros(backend, inputShape.slice());
    const dx = f32(backend, out);
    const dy = f32(backend, inputs.dy);
    const w = f32(backend, inputs.filter);
    for (let b = 0; b < B; b++) {
        for (let oy = 0; oy < OH; oy++) {
            for (let ox = 0; ox < OW; ox++) {
                const g = ((b * OH + oy) * OW + ox) * O;
                for (let fy = 0; fy < FH; fy++) {
                    const iy = oy * SH + fy * DH - PT;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (let fx = 0; fx < FW; fx++) {
                        const ix = ox * SW + fx * DW - PL;
                        if (ix < 0 || ix >= W)
                            continue;
                        const xb = ((b * H + iy) * W + ix) * C;
                        const wb = (fy * FW + fx) * O;
                        if (M === 1) {
                            for (let c = 0; c < C; c++)
                                dx[xb + c] += dy[g + c] * w[wb + c];
                        }
                        else {
                            for (let c = 0; c < C; c++) {
                                let s = 0;
                                for (let q = 0; q < M; q++)
                                    s += dy[g + c * M + q] * w[wb + c * M + q];
                                dx[xb + c] += s;
                            }
                        }
                    }
                }
            }
        }
    }
    return out;
}
export const depthwiseBackpropFilterConfig = {
    kernelName: DepthwiseConv2dNativeBackpropFilter,
    backendName: 'wasm',
    kernelFunc: backpropFilter,
};
export const depthwiseBackpropInputConfig = {
    kernelName: DepthwiseConv2dNativeBackpropInput,
    backendName: 'wasm',
    kernelFunc: backpropInput,
};
//# sourceMappingURL=depthwise-grad.js.map