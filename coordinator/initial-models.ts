// The initial global model of each study model, built deterministically by its family from its
// config (the same seed gives the same weights on every machine).
import type { CoordinatorFile } from '../shared/config/study.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { familyOf } from '../shared/families/registry.js';
import { selectBackend } from '../shared/tfjs/backend.js';

export async function initialModels(file: CoordinatorFile): Promise<Map<string, TensorSet>> {
  // Building a model and reading its weights needs no fast kernels: the portable cpu backend
  // keeps the coordinator free of wasm and GPU set-up.
  await selectBackend('cpu');
  const out = new Map<string, TensorSet>();
  for (const m of file.study.models) {
    const entry = { name: m.name, architecture: m.architecture ?? m.name, config: m.config ?? {} };
    out.set(m.name, await familyOf(entry).initialModel(entry));
  }
  return out;
}
