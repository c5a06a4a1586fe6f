import { type KernelConfig } from '@tensorflow/tfjs-core';
export declare const maxPoolGradConfig: KernelConfig;
export declare const avgPoolGradConfig: KernelConfig;
