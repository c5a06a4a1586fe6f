// tfjs backend selection: `auto` prefers TensorFlow's native library (GPU, then CPU) when its npm
// package is installed, else the wasm backend (SIMD; with the project's training kernels), else
// the pure-JS cpu backend. Logs the backend that runs.
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels } from './kernels/register.js';
import { FlError } from '../errors/index.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
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

const INSTALL_HINT: Record<Exclude<BackendChoice, 'auto'>, string> = {
  'tensorflow-gpu':
    'install it with `npm install @tensorflow/tfjs-node-gpu@4.22` on a Linux x86-64 host with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1 (see deploy/GPU.md)',
  tensorflow: 'install it with `npm install @tensorflow/tfjs-node@4.22` (Linux/macOS/Windows x86-64; downloads libtensorflow)',
  wasm: 'install it with `npm install @tensorflow/tfjs-backend-wasm@4.22`',
  cpu: 'install it with `npm install @tensorflow/tfjs-backend-cpu@4.22`',
};

export class BackendUnavailableError extends FlError {
  constructor(
    readonly backend: Exclude<BackendChoice, 'auto'>,
    reason: string,
  ) {
    super('backend.unavailable', `tfjs backend "${backend}" is not available: ${reason}; ${INSTALL_HINT[backend]}`);
  }
}

function isMissingPackage(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string };
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && (e.message ?? '').includes(pkg);
}

async function importOptional(pkg: string, backend: Exclude<BackendChoice, 'auto'>): Promise<unknown> {
  try {
    return await import(pkg);
  } catch (err) {
    if (isMissingPackage(err, pkg)) throw new BackendUnavailableError(backend, `package ${pkg} is not installed`);
    throw new BackendUnavailableError(backend, `package ${pkg} failed to load (${(err as Error).message})`);
  }
}

async function activate(name: string, backend: Exclude<BackendChoice, 'auto'>): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendUnavailableError(backend, `initialisation failed (${(err as Error).message})`);
  }
  if (!ok || tf.getBackend() !== name) throw new BackendUnavailableError(backend, 'initialisation failed');
  await tf.ready();
}

async function useNative(gpu: boolean): Promise<SelectedBackend> {
  const choice = gpu ? 'tensorflow-gpu' : 'tensorflow';
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const mod = (await importOptional(pkg, choice)) as { version?: Record<string, string> };
  await activate('tensorflow', choice);
  const tfVersion = mod.version?.['tfjs-node'] ?? mod.version?.['tfjs-node-gpu'] ?? '';
  return { name: 'tensorflow', detail: `${pkg}${tfVersion ? ` ${tfVersion}` : ''} (native libtensorflow${gpu ? ', CUDA' : ''})` };
}

async function useWasm(): Promise<SelectedBackend> {
  const wasm = (await importOptional('@tensorflow/tfjs-backend-wasm', 'wasm')) as { getThreadsCount(): number };
  await activate('wasm', 'wasm');
  registerWasmTrainingKernels();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return {
    name: 'wasm',
    detail: `@tensorflow/tfjs-backend-wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}; project training kernels)`,
  };
}

async function useCpu(): Promise<SelectedBackend> {
  await importOptional('@tensorflow/tfjs-backend-cpu', 'cpu');
  await activate('cpu', 'cpu');
  return { name: 'cpu', detail: '@tensorflow/tfjs-backend-cpu (pure JavaScript, slow for training)' };
}

const USE: Record<Exclude<BackendChoice, 'auto'>, () => Promise<SelectedBackend>> = {
  'tensorflow-gpu': () => useNative(true),
  tensorflow: () => useNative(false),
  wasm: useWasm,
  cpu: useCpu,
};

/**
 * Makes the requested backend the active tfjs backend. `auto` tries tensorflow-gpu, tensorflow,
 * wasm, cpu in that order; a forced backend that is missing or fails to start throws a
 * BackendUnavailableError that says how to install it.
 */
export async function selectBackend(requested: BackendChoice, log?: BackendLog): Promise<SelectedBackend> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(requested)) {
    throw new Error(`unknown backend "${String(requested)}"; choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  let selected: SelectedBackend | undefined;
  if (requested !== 'auto') {
    selected = await USE[requested]();
  } else {
    const skipped: string[] = [];
    for (const choice of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const) {
      try {
        selected = await USE[choice]();
        break;
      } catch (err) {
        if (!(err instanceof BackendUnavailableError)) throw err;
        skipped.push(`${choice}: ${err.message.split(';')[0]!.replace(/^tfjs backend "[^"]+" is not available: /, '')}`);
      }
    }
    if (!selected) throw new Error(`no tfjs backend could be started (${skipped.join('; ')})`);
    if (skipped.length > 0) log?.info(`tfjs backend auto: skipped ${skipped.join('; ')}`);
  }
  log?.info(`tfjs backend: ${selected.name} — ${selected.detail}`);
  return selected;
}
