// Checkpointing strategy state, two ways:
//  - encodeStrategyState / decodeStrategyState: the JSON part and the Float32Array moments apart,
//    the moments as one TensorSet (one float32 tensor per top-level array, in key order) for the
//    tensor file store; the JSON part records the TensorSet's digest, so moments from another
//    round (a crash between writing the two files) are refused instead of silently resumed;
//  - strategyStateToJson / strategyStateFromJson: one JSON value, each array as
//    {"$f32": base64 of its little-endian float32 bytes}, for states small enough to live inside
//    the study state file (written atomically with it).
import type { TensorSet, TensorInfo } from '../tensor/tensor-set.js';
import { tensorSetDigest, totalElements } from '../tensor/tensor-set.js';
import type { StrategyState } from './types.js';
import { FlError } from '../errors/index.js';

export interface EncodedStrategyState {
  /** Every non-array entry, plus `$tensors`: the keys stored in `tensors`, in order. */
  readonly json: Record<string, unknown>;
  readonly tensors: TensorSet;
}

export class StrategyStateError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('strategy.state', message, options);
  }
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
    if (key === '$tensors' || key === '$tensors_digest') throw new StrategyStateError(`strategy state: the key "${key}" is reserved`);
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
  const tensors: TensorSet = { infos, data };
  if (arrays.length > 0) json.$tensors_digest = tensorSetDigest(tensors);
  return { json, tensors };
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
  // States saved before the digest was recorded carry none and are taken as they are.
  const expected = json.$tensors_digest;
  if (expected !== undefined) {
    const actual = tensorSetDigest(tensors);
    if (expected !== actual) {
      throw new StrategyStateError(`strategy state: the optimiser tensors (digest ${actual.slice(0, 16)}…) are not the ones this state was saved with (${String(expected).slice(0, 16)}…); were they overwritten by a later round?`);
    }
  }
  const out: StrategyState = {};
  for (const [k, v] of Object.entries(json)) if (k !== '$tensors' && k !== '$tensors_digest') out[k] = v;
  let off = 0;
  for (const info of tensors.infos) {
    const n = totalElements([info]);
    out[info.name] = tensors.data.subarray(off, off + n);
    off += n;
  }
  return out;
}

/** Key marking a Float32Array in the single-JSON form. */
const F32 = '$f32';

/**
 * The state as one JSON-serialisable value: every top-level Float32Array becomes
 * {"$f32": base64 of its little-endian float32 bytes}. Same checks as encodeStrategyState.
 */
export function strategyStateToJson(state: StrategyState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(state).sort()) {
    const v = state[key];
    if (v instanceof Float32Array) out[key] = { [F32]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    else if (v !== undefined) {
      checkJson(v, key);
      if (typeof v === 'object' && v !== null && F32 in v) throw new StrategyStateError(`strategy state ${key}: objects with a "${F32}" key are reserved for arrays`);
      out[key] = v;
    }
  }
  return out;
}

/** Inverse of strategyStateToJson (after JSON.parse); the arrays are fresh copies. */
export function strategyStateFromJson(json: unknown): StrategyState {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new StrategyStateError('strategy state: expected a JSON object');
  const out: StrategyState = {};
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    if (typeof v === 'object' && v !== null && F32 in v) {
      const b64 = (v as Record<string, unknown>)[F32];
      if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new StrategyStateError(`strategy state ${key}: "${F32}" must be a base64 string`);
      const bytes = Buffer.from(b64, 'base64');
      if (bytes.length % 4 !== 0) throw new StrategyStateError(`strategy state ${key}: ${bytes.length} bytes is not a whole number of float32 values`);
      const a = new Float32Array(bytes.length / 4);
      new Uint8Array(a.buffer).set(bytes);
      out[key] = a;
    } else {
      out[key] = v;
    }
  }
  return out;
}
