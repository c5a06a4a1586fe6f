// The fitted model as a tensor set: a round trip keeps float64 coefficients (hi/lo float32 pairs),
// names (features, dependencies) change the digest, and the site's linear predictor is the
// coordinator's.
import { describe, expect, it } from 'vitest';
import { tensorSetDigest } from '../../tensor/tensor-set.js';
import { decodeTabularModel, encodeTabularModel, isUnfitted, linearPredictor, unfittedTensorSet, type TabularModel } from './model.js';

const dep = { model: 'radscore', version: 1, digest: 'a'.repeat(64) };
const linear: TabularModel = {
  family: 'logistic', features: ['age', 'gsus.lesion.cm_energy', 'radscore'], intercept: -5.88609337934181,
  coef: [0.0213456789012345, 2.98871234567891e-7, -1.39824567812345], dependencies: [dep],
};

describe('tabular model tensor set', () => {
  it('round-trips a linear model to ~1e-14 and scores the same', () => {
    const set = encodeTabularModel(linear);
    expect(set.data).toBeInstanceOf(Float32Array);
    const back = decodeTabularModel(set);
    expect(back.features).toEqual(linear.features);
    expect(back.dependencies).toEqual([dep]);
    expect(Math.abs(back.intercept! - linear.intercept!)).toBeLessThan(1e-13);
    back.coef!.forEach((c, j) => expect(Math.abs(c - linear.coef![j]!)).toBeLessThanOrEqual(1e-13 * Math.abs(linear.coef![j]!)));
    // A float32 copy would be off by ~1e-7 relative; the pair keeps it.
    expect(Math.abs(Math.fround(linear.intercept!) - linear.intercept!)).toBeGreaterThan(1e-8);
    const x = [54, 0.31, 0.7];
    expect(Math.abs(linearPredictor(back, x) - linearPredictor(linear, x))).toBeLessThan(1e-12);
  });

  it('the digest binds feature names and dependencies', () => {
    const d0 = tensorSetDigest(encodeTabularModel(linear));
    expect(tensorSetDigest(encodeTabularModel({ ...linear, features: ['age', 'gsus.lesion.cm_energy', 'clinical'] }))).not.toBe(d0);
    expect(tensorSetDigest(encodeTabularModel({ ...linear, dependencies: [{ ...dep, digest: 'b'.repeat(64) }] }))).not.toBe(d0);
    expect(tensorSetDigest(encodeTabularModel(linear))).toBe(d0);
  });

  it('round-trips gbdt trees and predicts the same', () => {
    const m: TabularModel = {
      family: 'gbdt', features: ['age', 'ki67'], baseScore: -0.6931471805599453, edges: [[40.5, 55.25], [12.125]],
      trees: [
        { nodes: [{ id: 0, feature: 0, threshold: 55.25, left: 1, right: 2 }, { id: 1, leaf: -0.0123456789 }, { id: 2, feature: 1, threshold: 12.125, left: 5, right: 6 }, { id: 5, leaf: 0.02 }, { id: 6, leaf: 0.0456789 }] },
        { nodes: [{ id: 0, leaf: 0.001 }] },
      ],
      dependencies: [],
    };
    const back = decodeTabularModel(encodeTabularModel(m));
    expect(back.trees).toHaveLength(2);
    for (const x of [[30, 5], [60, 5], [60, 20], [55.25, 12.125]]) expect(Math.abs(linearPredictor(back, x) - linearPredictor(m, x))).toBeLessThan(1e-13);
    expect(linearPredictor(m, [60, 20])).toBeCloseTo(-0.6931471805599453 + 0.0456789 + 0.001, 14);
  });

  it('an unfitted model is refused with what to do; bad names are refused', () => {
    expect(isUnfitted(unfittedTensorSet())).toBe(true);
    expect(() => decodeTabularModel(unfittedTensorSet(), 'model "clinical"')).toThrow(/model "clinical" has not been fitted yet/);
    expect(() => encodeTabularModel({ ...linear, features: ['a b', 'c', 'd'] })).toThrow(/feature "a b" cannot be stored/);
    expect(() => encodeTabularModel({ ...linear, coef: [1] })).toThrow(/one coefficient per feature/);
  });
});
