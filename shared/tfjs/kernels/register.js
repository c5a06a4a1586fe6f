// Registers the project's training kernels for the tfjs wasm backend: the gradients it lacks
// (conv filter, depthwise conv) and faster replacements for the slow ones it has (conv input,
// max/avg pooling). Idempotent; call before training on wasm (selectBackend does).
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './conv2d-grad.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-grad.js';
import { avgPoolGradConfig, maxPoolGradConfig } from './pool-grad.js';
export const WASM_TRAINING_KERNELS = [
    conv2DBackpropFilterConfig,
    conv2DBackpropInputConfig,
    depthwiseBackpropFilterConfig,
    depthwiseBackpropInputConfig,
    maxPoolGradConfig,
    avgPoolGradConfig,
];
/** Registers (or re-registers, replacing the backend's own) every kernel in WASM_TRAINING_KERNELS. */
export function registerWasmTrainingKernels() {
    for (const k of WASM_TRAINING_KERNELS) {
        const existing = getKernel(k.kernelName, 'wasm');
        if (existing === k)
            continue;
        if (existing)
            unregisterKernel(k.kernelName, 'wasm');
        registerKernel(k);
    }
}
//# sourceMappingURL=register.js.map