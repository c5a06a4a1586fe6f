// Fixed-point quantisation of float updates into the ring Z_2^32 and back.
//
// A site's value x is clipped to [-C, C], multiplied by its weight w in [0, 1], and mapped to
//   q = round((w*clip(x) + C) / D),   D = 2C / (2^B - 1),   q in [0, 2^B - 1],
// with deterministic round-half-up (reproducible, so an audit replay re-derives the same integers).
// The server unmasks the exact integer sum S = sum_k q_k over the m surviving sites (no wrap since
// m * (2^B - 1) < 2^32, see params.ts) and dequantises
//   sum_k w_k clip(x_k) ~= S * D - m * C,
// with error at most m * D / 2 (each rounding is at most D/2), plus float64 rounding (relative
// 1e-15). The weighted mean divides by W = sum_k w_k, error at most m * D / (2W). Values beyond
// the clip are not covered by the bound: clipping is the site-side norm bound.
import { FlError } from '../errors/index.js';
import type { QuantizationConfig } from './params.js';

export function step(q: QuantizationConfig): number {
  return (2 * q.clip) / (2 ** q.bits - 1);
}

/** Quantises `x[start..start+out.length)` into `out`. */
export function quantizeInto(out: Uint32Array, x: Float32Array | Float64Array, start: number, q: QuantizationConfig, weight = 1): void {
  if (!(weight >= 0 && weight <= 1)) throw new FlError('secagg.weight', `weight ${weight} must be in [0, 1]`, { user: false });
  const c = q.clip;
  const inv = 1 / step(q);
  const top = 2 ** q.bits - 1;
  for (let i = 0; i < out.length; i++) {
    let v = x[start + i]!;
    if (Number.isNaN(v)) throw new FlError('secagg.nan', `update element ${start + i} is NaN; the site's training diverged`, { user: false });
    v = v > c ? c : v < -c ? -c : v;
    const k = Math.floor((weight * v + c) * inv + 0.5);
    out[i] = k < 0 ? 0 : k > top ? top : k;
  }
}

export function quantize(x: Float32Array | Float64Array, q: QuantizationConfig, weight = 1): Uint32Array {
  const out = new Uint32Array(x.length);
  quantizeInto(out, x, 0, q, weight);
  return out;
}

/** The sum over `count` sites of w_k * clip(x_k), from the unmasked ring sum. */
export function dequantize(sum: Uint32Array, count: number, q: QuantizationConfig): Float64Array {
  if (!Number.isInteger(count) || count < 1) throw new FlError('secagg.count', `count ${count} must be a positive integer`, { user: false });
  if (count * (2 ** q.bits - 1) > 2 ** 32 - 1) {
    throw new FlError('secagg.count', `${count} sites of ${q.bits} bits can wrap the 32-bit ring; the sum is not exact`, { user: false });
  }
  const d = step(q);
  const off = count * q.clip;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! * d - off;
  return out;
}

/** Largest error of `dequantize(sum, count)` against the float sum of the clipped, weighted values. */
export function quantizationErrorBound(count: number, q: QuantizationConfig): number {
  return (count * step(q)) / 2;
}

export interface NamedTensor {
  readonly name: string;
  readonly data: Float32Array;
}

export interface TensorLayout {
  readonly entries: readonly { readonly name: string; readonly length: number }[];
  readonly total: number;
}

export function tensorLayout(tensors: readonly NamedTensor[]): TensorLayout {
  const names = new Set<string>();
  let total = 0;
  const entries = tensors.map((t) => {
    if (names.has(t.name)) throw new FlError('secagg.tensors', `tensor "${t.name}" appears twice in the update`, { user: false });
    names.add(t.name);
    total += t.data.length;
    return { name: t.name, length: t.data.length };
  });
  return { entries, total };
}

/** A site's tensors (in the given order) as one ring vector: clipped, weighted, quantised. */
export function tensorsToRing(tensors: readonly NamedTensor[], q: QuantizationConfig, weight = 1): { layout: TensorLayout; ring: Uint32Array } {
  const layout = tensorLayout(tensors);
  const ring = new Uint32Array(layout.total);
  let off = 0;
  for (const t of tensors) {
    quantizeInto(ring.subarray(off, off + t.data.length), t.data, 0, q, weight);
    off += t.data.length;
  }
  return { layout, ring };
}

/**
 * The weighted mean sum_k w_k clip(x_k) / W as named float32 tensors, from the unmasked ring sum of
 * `count` sites whose weights add to `weightSum` (W = count when every weight is 1: plain mean).
 */
export function ringToTensors(sum: Uint32Array, layout: TensorLayout, count: number, q: QuantizationConfig, weightSum = count): NamedTensor[] {
  if (sum.length !== layout.total) {
    throw new FlError('secagg.tensors', `aggregate has ${sum.length} elements, the tensor layout ${layout.total}`, { user: false });
  }
  if (!(weightSum > 0)) throw new FlError('secagg.weight', `weight sum ${weightSum} must be positive`, { user: false });
  const deq = dequantize(sum, count, q);
  const out: NamedTensor[] = [];
  let off = 0;
  for (const e of layout.entries) {
    const data = new Float32Array(e.length);
    for (let i = 0; i < e.length; i++) data[i] = deq[off + i]! / weightSum;
    out.push({ name: e.name, data });
    off += e.length;
  }
  return out;
}
