import { type KernelConfig } from '@tensorflow/tfjs-core';
export declare const WASM_TRAINING_KERNELS: readonly KernelConfig[];
/** Registers (or re-registers, replacing the backend's own) every kernel in WASM_TRAINING_KERNELS. */
export declare function registerWasmTrainingKernels(): void;
