import { describe, expect, it } from 'vitest';
import { decodeStrategyState, encodeStrategyState, strategyStateFromJson, strategyStateToJson } from './state.js';
import { fedAdam } from './fedadam.js';
import { fedYogi } from './fedyogi.js';
import { readersOf, randomArray } from '../../test/helpers/aggregate-testing.js';
import { tensorSetDigest } from '../tensor/tensor-set.js';

const digest = (a: Float32Array) => tensorSetDigest({ infos: [], data: a });

describe('strategy state checkpoints', () => {
  it('round-trips FedAdam state through JSON + TensorSet and resumes to the same model', async () => {
    const s = fedAdam({ eta: 0.05, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    const g0 = randomArray(1000, 1);
    const ups = () => readersOf([randomArray(1000, 2), randomArray(1000, 3)], [5, 7]);
    const r1 = await s.aggregateFit(g0, ups(), s.initialState!());
    const enc = encodeStrategyState(r1.state);
    expect(enc.json).toEqual({ step: 1, $tensors: ['m', 'v'], $tensors_digest: tensorSetDigest(enc.tensors) });
    expect(enc.tensors.infos).toEqual([{ name: 'm', shape: [1000], dtype: 'float32' }, { name: 'v', shape: [1000], dtype: 'float32' }]);
    // As the checkpoint store would: JSON text, and a copy of the tensor bytes.
    const dec = decodeStrategyState(JSON.parse(JSON.stringify(enc.json)) as Record<string, unknown>, { infos: enc.tensors.infos, data: Float32Array.from(enc.tensors.data) });
    expect(Object.keys(dec).sort()).toEqual(['m', 'step', 'v']);
    const a = await s.aggregateFit(r1.global, ups(), r1.state);
    const b = await s.aggregateFit(r1.global, ups(), dec);
    expect(digest(a.global)).toBe(digest(b.global));
  });

  it('refuses moments from another round (the tensor file overwritten by a later round)', async () => {
    const s = fedAdam({ eta: 0.05, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    const g0 = randomArray(100, 1);
    const ups = () => readersOf([randomArray(100, 2)], [1]);
    const r1 = await s.aggregateFit(g0, ups(), {});
    const r2 = await s.aggregateFit(r1.global, ups(), r1.state);
    const json1 = encodeStrategyState(r1.state).json;
    const tensors2 = encodeStrategyState(r2.state).tensors;
    expect(() => decodeStrategyState(json1, tensors2)).toThrow(/not the ones this state was saved with/);
    // States saved without a digest (older checkpoints) still load.
    const { $tensors_digest: _omit, ...legacy } = json1;
    expect(decodeStrategyState(legacy, encodeStrategyState(r1.state).tensors).step).toBe(1);
  });

  it('round-trips through JSON.stringify / JSON.parse alone (base64 moments) and resumes bit-identically', async () => {
    for (const s of [fedAdam({ eta: 0.05, beta1: 0.9, beta2: 0.99, tau: 1e-3 }), fedYogi({ eta: 0.05, beta1: 0.9, beta2: 0.99, tau: 1e-3 })]) {
      const g0 = randomArray(777, 4);
      const ups = (seed: number) => readersOf([randomArray(777, seed), randomArray(777, seed + 1)], [3, 4]);
      const r1 = await s.aggregateFit(g0, ups(10), s.initialState!());
      const text = JSON.stringify(strategyStateToJson(r1.state));
      const back = strategyStateFromJson(JSON.parse(text));
      expect(back.step).toBe(1);
      expect(digest(back.m as Float32Array)).toBe(digest((r1.state as { m: Float32Array }).m));
      expect(digest(back.v as Float32Array)).toBe(digest((r1.state as { v: Float32Array }).v));
      const a = await s.aggregateFit(r1.global, ups(20), r1.state);
      const b = await s.aggregateFit(r1.global, ups(20), back);
      expect(digest(a.global)).toBe(digest(b.global));
    }
    // Stateless strategies: the state is plain JSON already.
    expect(strategyStateFromJson(JSON.parse(JSON.stringify(strategyStateToJson({ note: 'x', k: [1, 2] }))))).toEqual({ note: 'x', k: [1, 2] });
  });

  it('refuses unserialisable or inconsistent state', () => {
    expect(() => encodeStrategyState({ x: NaN })).toThrow(/x: NaN/);
    expect(() => encodeStrategyState({ nested: { m: new Float32Array(2) } })).toThrow(/only supported at the top level/);
    expect(() => encodeStrategyState({ $tensors_digest: 'x' })).toThrow(/reserved/);
    const enc = encodeStrategyState({ m: new Float32Array(2) });
    expect(() => decodeStrategyState({ $tensors: ['v'] }, enc.tensors)).toThrow(/do not match/);
    expect(() => strategyStateToJson({ x: Infinity })).toThrow(/x: Infinity/);
    expect(() => strategyStateToJson({ x: { $f32: 'AAAA' } })).toThrow(/reserved for arrays/);
    expect(() => strategyStateFromJson({ m: { $f32: 'AAA=' } })).toThrow(/m: 2 bytes is not a whole number of float32/);
    expect(() => strategyStateFromJson({ m: { $f32: 42 } })).toThrow(/m: "\$f32" must be a base64 string/);
    expect(() => strategyStateFromJson([1])).toThrow(/expected a JSON object/);
  });
});
