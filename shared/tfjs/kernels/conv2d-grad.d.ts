import { backend_util, type KernelConfig } from '@tensorflow/tfjs-core';
/** Writes im2col(x) transposed, [K, M], into `col` (K = fh*fw*inC rows, M = batch*outH*outW columns). */
export declare function im2colTransposed(x: Float32Array, col: Float32Array, info: backend_util.Conv2DInfo): void;
export declare const conv2DBackpropFilterConfig: KernelConfig;
export declare const conv2DBackpropInputConfig: KernelConfig;
