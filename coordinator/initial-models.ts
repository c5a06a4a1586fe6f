// The initial global model of each study model, built deterministically by its family from its
// config (the same seed gives the same weights on every machine).
import type { CoordinatorFile } from '../shared/config/study.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { familyOf } from '../shared/families/registry.js';
import { selectBackend } from '../shared/tfjs/backend.js';
import { ConfigError } from '../shared/config/load.js';
import { errorMessage } from '../shared/errors/index.js';

export async function initialModels(file: CoordinatorFile): Promise<Map<string, TensorSet>> {
  // Building a model and reading its weights needs no fast kernels: the portable cpu backend
  // keeps the coordinator free of wasm and GPU set-up.
  await selectBackend('cpu');
  const out = new Map<string, TensorSet>();
  for (const m of file.study.models) {
    const entry = { name: m.name, architecture: m.architecture ?? m.name, config: m.config ?? {} };
    out.set(m.name, await familyOf({ ...entry, family: m.family }).initialModel(entry));
  }
  return out;
}

/**
 * Checks every model entry with its family (family, architecture and config fields) before
 * anything is written: a mistake is a ConfigError naming the entry and the field.
 */
export function validateStudyModels(file: CoordinatorFile): void {
  file.study.models.forEach((m, i) => {
    const entry = { name: m.name, architecture: m.architecture ?? m.name, config: m.config ?? {} };
    try {
      familyOf({ ...entry, family: m.family }).validate(entry, `study.models[${i}] ("${m.name}")`);
    } catch (err) {
      throw new ConfigError(`study.models[${i}] ("${m.name}"): ${errorMessage(err)}`, undefined, { cause: err });
    }
  });
}
