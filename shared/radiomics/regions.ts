// Regions of an image: the lesion mask, a peri-lesional ring of width d mm outside it (clipped to
// the image), or an axis-aligned rectangle; and optional resampling to isotropic pixels.
import { FlError } from '../errors/index.js';
import type { Spacing } from './morph2d.js';

export type RegionSpec = { readonly kind: 'lesion' } | { readonly kind: 'peri'; readonly mm: number } | { readonly kind: 'roi' };

/** Parses "lesion", "roi" or "peri:<d>mm" (d > 0). */
export function parseRegion(text: string): RegionSpec {
  const t = text.trim();
  if (t === 'lesion' || t === 'roi') return { kind: t };
  const m = /^peri:(\d+(?:\.\d+)?)mm$/.exec(t);
  if (m && Number(m[1]) > 0) return { kind: 'peri', mm: Number(m[1]) };
  throw new FlError('radiomics.region', `region "${text}": expected lesion, roi or peri:<d>mm with d > 0 (e.g. peri:2mm)`);
}

export function regionName(r: RegionSpec): string {
  return r.kind === 'peri' ? `peri:${r.mm}mm` : r.kind;
}

/** Squared Euclidean distance (mm^2) of every pixel to the nearest pixel centre of the mask (Felzenszwalb-Huttenlocher). */
export function distanceToMask(mask: Uint8Array, w: number, h: number, s: Spacing): Float64Array {
  const INF = 1e300;
  const d = new Float64Array(w * h);
  for (let k = 0; k < d.length; k++) d[k] = mask[k] ? 0 : INF;
  const pass = (n: number, get: (i: number) => number, set: (i: number, v: number) => void, step: number) => {
    const f = new Float64Array(n);
    for (let i = 0; i < n; i++) f[i] = get(i);
    const v = new Int32Array(n);
    const z = new Float64Array(n + 1);
    let k = 0;
    let first = -1;
    for (let q = 0; q < n; q++) if (f[q]! < INF) { first = q; break; }
    if (first < 0) return;
    v[0] = first;
    z[0] = -Infinity;
    z[1] = Infinity;
    for (let q = first + 1; q < n; q++) {
      if (f[q]! >= INF) continue;
      const pq = q * step;
      for (;;) {
        const pv = v[k]! * step;
        const sct = (f[q]! + pq * pq - (f[v[k]!]! + pv * pv)) / (2 * (pq - pv));
        if (sct <= z[k]!) {
          k--;
          if (k < 0) { k = 0; v[0] = q; z[0] = -Infinity; z[1] = Infinity; break; }
          continue;
        }
        k++;
        v[k] = q;
        z[k] = sct;
        z[k + 1] = Infinity;
        break;
      }
    }
    k = 0;
    for (let q = 0; q < n; q++) {
      const pq = q * step;
      while (z[k + 1]! < pq) k++;
      const pv = v[k]! * step;
      set(q, (pq - pv) * (pq - pv) + f[v[k]!]!);
    }
  };
  for (let y = 0; y < h; y++) pass(w, (i) => d[y * w + i]!, (i, val) => (d[y * w + i] = val), s.x);
  for (let x = 0; x < w; x++) pass(h, (i) => d[i * w + x]!, (i, val) => (d[i * w + x] = val), s.y);
  return d;
}

/** Pixels outside the mask within `mm` of it (pixel centre to pixel centre), clipped to the image. */
export function periRing(mask: Uint8Array, w: number, h: number, s: Spacing, mm: number): Uint8Array {
  const d = distanceToMask(mask, w, h, s);
  const ring = new Uint8Array(w * h);
  const r2 = mm * mm * (1 + 1e-12);
  for (let k = 0; k < ring.length; k++) if (!mask[k] && d[k]! <= r2) ring[k] = 1;
  return ring;
}

export function rectangleMask(w: number, h: number, roi: readonly [number, number, number, number]): Uint8Array {
  const [x0, y0, rw, rh] = roi;
  const m = new Uint8Array(w * h);
  for (let y = Math.max(0, y0); y < Math.min(h, y0 + rh); y++) for (let x = Math.max(0, x0); x < Math.min(w, x0 + rw); x++) m[y * w + x] = 1;
  return m;
}

/**
 * Resamples an image (bilinear) and its mask (bilinear, kept where >= 0.5) to square pixels of
 * `target` mm, grid centres aligned (IBSI "align grid centres").
 */
export function resampleIsotropic(
  values: ArrayLike<number>,
  mask: Uint8Array,
  w: number,
  h: number,
  s: Spacing,
  target: number,
): { values: Float64Array; mask: Uint8Array; width: number; height: number; spacing: Spacing } {
  const nw = Math.max(1, Math.round((w * s.x) / target));
  const nh = Math.max(1, Math.round((h * s.y) / target));
  const out = new Float64Array(nw * nh);
  const outMask = new Uint8Array(nw * nh);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const ncx = (nw - 1) / 2;
  const ncy = (nh - 1) / 2;
  const sample = (src: (k: number) => number, x: number, y: number) => {
    const xc = Math.min(w - 1, Math.max(0, x));
    const yc = Math.min(h - 1, Math.max(0, y));
    const x0 = Math.min(w - 2, Math.floor(xc));
    const y0 = Math.min(h - 2, Math.floor(yc));
    if (w === 1 || h === 1) return src(Math.round(yc) * w + Math.round(xc));
    const fx = xc - x0;
    const fy = yc - y0;
    const k = y0 * w + x0;
    return (1 - fy) * ((1 - fx) * src(k) + fx * src(k + 1)) + fy * ((1 - fx) * src(k + w) + fx * src(k + w + 1));
  };
  for (let j = 0; j < nh; j++) {
    const y = cy + ((j - ncy) * target) / s.y;
    for (let i = 0; i < nw; i++) {
      const x = cx + ((i - ncx) * target) / s.x;
      out[j * nw + i] = sample((k) => values[k]!, x, y);
      outMask[j * nw + i] = sample((k) => mask[k]!, x, y) >= 0.5 ? 1 : 0;
    }
  }
  return { values: out, mask: outMask, width: nw, height: nh, spacing: { x: target, y: target } };
}
