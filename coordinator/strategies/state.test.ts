import { describe, expect, it } from 'vitest';
import { decodeStrategyState, encodeStrategyState } from './state.js';
import { fedAdam } from './fedadam.js';
import { readersOf, randomArray } from '../../shared/aggregate/testing.js';
import { tensorSetDigest } from '../../shared/tensor/tensor-set.js';

describe('strategy state checkpoints', () => {
  it('round-trips FedAdam state through JSON + TensorSet and resumes to the same model', async () => {
    const s = fedAdam({ eta: 0.05, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    const g0 = randomArray(1000, 1);
    const ups = () => readersOf([randomArray(1000, 2), randomArray(1000, 3)], [5, 7]);
    const r1 = await s.aggregate(g0, ups(), s.initialState!());
    const enc = encodeStrategyState(r1.state);
    expect(enc.json).toEqual({ step: 1, $tensors: ['m', 'v'] });
    expect(enc.tensors.infos).toEqual([{ name: 'm', shape: [1000], dtype: 'float32' }, { name: 'v', shape: [1000], dtype: 'float32' }]);
    // As the checkpoint store would: JSON text, and a copy of the tensor bytes.
    const dec = decodeStrategyState(JSON.parse(JSON.stringify(enc.json)) as Record<string, unknown>, { infos: enc.tensors.infos, data: Float32Array.from(enc.tensors.data) });
    const a = await s.aggregate(r1.global, ups(), r1.state);
    const b = await s.aggregate(r1.global, ups(), dec);
    expect(tensorSetDigest({ infos: [], data: a.global })).toBe(tensorSetDigest({ infos: [], data: b.global }));
  });

  it('refuses unserialisable or inconsistent state', () => {
    expect(() => encodeStrategyState({ x: NaN })).toThrow(/x: NaN/);
    expect(() => encodeStrategyState({ nested: { m: new Float32Array(2) } })).toThrow(/only supported at the top level/);
    const enc = encodeStrategyState({ m: new Float32Array(2) });
    expect(() => decodeStrategyState({ $tensors: ['v'] }, enc.tensors)).toThrow(/do not match/);
  });
});
