// Registry of model families: one import and one line each.
import { FlError } from '../errors/index.js';
import { imageFamily } from './image/index.js';
import { gbdtFamily, lassoLogisticFamily, logisticFamily } from './tabular/index.js';
import type { FamilyModelEntry, ModelFamily } from './types.js';

const FAMILIES: Record<string, ModelFamily> = {
  image: imageFamily,
  logistic: logisticFamily,
  lasso_logistic: lassoLogisticFamily,
  gbdt: gbdtFamily,
};

export const familyNames = (): string[] => Object.keys(FAMILIES);

export function getFamily(name: string): ModelFamily {
  const f = FAMILIES[name];
  if (!f) throw new FlError('config.family', `unknown model family "${name}"; known families: ${familyNames().join(', ')}`);
  return f;
}

/** The family that builds a registered architecture (image networks by default). */
export function familyOf(entry: { readonly family?: string | undefined; readonly architecture: string }): ModelFamily {
  if (entry.family) return getFamily(entry.family);
  for (const f of Object.values(FAMILIES)) if (f.architectures.some((a) => a.name === entry.architecture)) return f;
  throw new FlError('config.architecture', `unknown model architecture "${entry.architecture}"; known: ${Object.values(FAMILIES).flatMap((f) => f.architectures.map((a) => a.name)).join(', ')}`);
}

export type { FamilyModelEntry, ModelFamily };
