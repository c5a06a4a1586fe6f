// Checkpointing strategy state: the JSON part and the Float32Array moments apart, the moments as
// one TensorSet (one float32 tensor per top-level array, in key order) for the tensor file store.
import type { TensorSet, TensorInfo } from '../../shared/tensor/tensor-set.js';
import { totalElements } from '../../shared/tensor/tensor-set.js';
import type { StrategyState } from './types.js';

export interface EncodedStrategyState {
  /** Every non-array entry, plus `$tensors`: the keys stored in `tensors`, in order. */
  readonly json: Record<string, unknown>;
  readonly tensors: TensorSet;
}

export class StrategyStateError extends Error {
  override name = 'StrategyStateError';
}

function checkJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StrategyStateError(`strategy state ${path}: ${value} is not representable in JSON`);
    return;
  }
  if (ArrayBuffer.isView(value)) throw new StrategyStateError(`strategy state ${path}: typed arrays are only supported at the top level`);
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(v, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) checkJson(v, `${path}.${k}`);
    return;
  }
  throw new StrategyStateError(`strategy state ${path}: ${typeof value} is not serialisable`);
}

export function encodeStrategyState(state: StrategyState): EncodedStrategyState {
  const json: Record<string, unknown> = {};
  const arrays: [string, Float32Array][] = [];
  for (const key of Object.keys(state).sort()) {
    const v = state[key];
    if (key === '$tensors') throw new StrategyStateError('strategy state: the key "$tensors" is reserved');
    if (v instanceof Float32Array) arrays.push([key, v]);
    else if (v !== undefined) {
      checkJson(v, key);
      json[key] = v;
    }
  }
  json.$tensors = arrays.map(([k]) => k);
  const infos: TensorInfo[] = arrays.map(([name, a]) => ({ name, shape: [a.length], dtype: 'float32' }));
  const data = new Float32Array(totalElements(infos));
  let off = 0;
  for (const [, a] of arrays) {
    data.set(a, off);
    off += a.length;
  }
  return { json, tensors: { infos, data } };
}

/** Inverse of encodeStrategyState; the arrays are views into `tensors.data`. */
export function decodeStrategyState(json: Record<string, unknown>, tensors: TensorSet): StrategyState {
  const names = json.$tensors;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new StrategyStateError('strategy state: "$tensors" must list the tensor names');
  }
  if (names.length !== tensors.infos.length || names.some((n, i) => tensors.infos[i]!.name !== n)) {
    throw new StrategyStateError(`strategy state: tensors [${tensors.infos.map((t) => t.name).join(', ')}] do not match $tensors [${names.join(', ')}]`);
  }
  const total = totalElements(tensors.infos);
  if (total !== tensors.data.length) throw new StrategyStateError(`strategy state: the tensors hold ${tensors.data.length} values, their shapes say ${total}`);
  const out: StrategyState = {};
  for (const [k, v] of Object.entries(json)) if (k !== '$tensors') out[k] = v;
  let off = 0;
  for (const info of tensors.infos) {
    const n = totalElements([info]);
    out[info.name] = tensors.data.subarray(off, off + n);
    off += n;
  }
  return out;
}
