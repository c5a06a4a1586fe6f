// Registers the project's training kernels for the tfjs wasm backend: the gradients it lacks
// (conv filter, depthwise conv), faster replacements for the slow ones it has (conv input,
// max/avg pooling), and cheaper versions of the copies and broadcasts a training step makes on
// every activation (elementwise.ts; these fall back to the backend's own kernel outside their
// fast cases), and ReLU's gradient as one kernel. Idempotent; call after the wasm backend is active (selectBackend does).
import { getGradient, getKernel, registerGradient, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './conv2d-grad.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-grad.js';
import { avgPoolGradConfig, maxPoolGradConfig } from './pool-grad.js';
import { captureOriginal, reluGradConfig, reluGradKernelConfig, WRAPPING_KERNELS } from './elementwise.js';

export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
  reluGradKernelConfig,
  ...WRAPPING_KERNELS,
];

/** Registers (or re-registers, replacing the backend's own) every kernel in WASM_TRAINING_KERNELS. */
export function registerWasmTrainingKernels(): void {
  for (const k of WASM_TRAINING_KERNELS) {
    const existing = getKernel(k.kernelName, 'wasm');
    if (existing === k) continue;
    if (WRAPPING_KERNELS.includes(k)) captureOriginal(k.kernelName);
    if (existing) unregisterKernel(k.kernelName, 'wasm');
    registerKernel(k);
  }
  // ReLU's gradient through the one-pass kernel on wasm (tfjs's formula on other backends).
  if (getGradient(reluGradConfig.kernelName) !== reluGradConfig) registerGradient(reluGradConfig);
}
