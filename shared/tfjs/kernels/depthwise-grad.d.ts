import { type KernelConfig } from '@tensorflow/tfjs-core';
export declare const depthwiseBackpropFilterConfig: KernelConfig;
export declare const depthwiseBackpropInputConfig: KernelConfig;
