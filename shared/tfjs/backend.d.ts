export declare const BACKEND_CHOICES: readonly ["auto", "tensorflow-gpu", "tensorflow", "wasm", "cpu"];
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export interface SelectedBackend {
    /** tfjs backend name: 'tensorflow' (tfjs-node / tfjs-node-gpu), 'wasm' or 'cpu'. */
    readonly name: string;
    /** Human-readable description: package, SIMD/threads, devices. */
    readonly detail: string;
}
/** Anything with an info(message) method (a pino Logger fits). */
export interface BackendLog {
    info(message: string): void;
}
export declare class BackendUnavailableError extends Error {
    readonly backend: Exclude<BackendChoice, 'auto'>;
    constructor(backend: Exclude<BackendChoice, 'auto'>, reason: string);
}
/**
 * Makes the requested backend the active tfjs backend. `auto` tries tensorflow-gpu, tensorflow,
 * wasm, cpu in that order; a forced backend that is missing or fails to start throws a
 * BackendUnavailableError that says how to install it.
 */
export declare function selectBackend(requested: BackendChoice, log?: BackendLog): Promise<SelectedBackend>;
