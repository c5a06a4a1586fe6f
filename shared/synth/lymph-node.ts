// Geometry of a sentinel lymph node and the pathology-driven appearance parameters of both modalities.
//
// Each case has a latent metastasis label y and two conditionally independent evidence scores,
// z_gsus = d*y + N(0,1) and z_ceus = d*y + N(0,1). The grayscale image renders z_gsus as node
// shape (round vs oval), cortical thickening (eccentric, thick cortex) and loss of the fatty hilum;
// the CEUS image renders z_ceus as heterogeneous enhancement and perfusion defects. Each modality
// alone therefore carries partial evidence (Bayes AUC Phi(d/sqrt 2)), and both together carry more
// (Phi(d)), which is what makes dual-modal fusion worth it.
import type { Rng } from './rng.js';

export interface Ellipse {
  readonly cx: number;
  readonly cy: number;
  /** Semi-axes in pixels (a = long axis). */
  readonly a: number;
  readonly b: number;
  /** Rotation in radians. */
  readonly angle: number;
}

/** Elliptic radius of (x, y): < 1 inside, and its local length scale for soft edges. */
export function ellipseRadius(e: Ellipse, x: number, y: number, du = 0, dv = 0, scale = 1): number {
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const dx = x - e.cx;
  const dy = y - e.cy;
  const u = dx * c + dy * s - du;
  const v = -dx * s + dy * c - dv;
  const ua = u / (e.a * scale);
  const vb = v / (e.b * scale);
  return Math.sqrt(ua * ua + vb * vb);
}

/** Axis-aligned bounding box of an ellipse, enlarged by `margin` (fraction), clipped to the image. */
export function boundingBox(e: Ellipse, margin: number, size: number): [number, number, number, number] {
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const hx = Math.sqrt(e.a * e.a * c * c + e.b * e.b * s * s) * (1 + margin);
  const hy = Math.sqrt(e.a * e.a * s * s + e.b * e.b * c * c) * (1 + margin);
  const x0 = Math.max(0, Math.floor(e.cx - hx));
  const y0 = Math.max(0, Math.floor(e.cy - hy));
  const x1 = Math.min(size, Math.ceil(e.cx + hx));
  const y1 = Math.min(size, Math.ceil(e.cy + hy));
  return [x0, y0, x1 - x0, y1 - y0];
}

/** Maps an evidence score to a suspicion level in (0, 1) (logistic, centred between the classes). */
export function suspicion(z: number, separation: number): number {
  return 1 / (1 + Math.exp(-1.6 * (z - separation / 2)));
}

export interface GsusAppearance {
  readonly node: Ellipse;
  /** Hilum semi-axes as a fraction of the node's (0 = effaced hilum). */
  readonly hilumFraction: number;
  /** Offset of the hilum along the long axis as a fraction of a (eccentric cortical thickening). */
  readonly hilumOffset: number;
}

export interface CeusAppearance {
  readonly node: Ellipse;
  /** Amplitude of heterogeneous enhancement (0 = homogeneous). */
  readonly heterogeneity: number;
  readonly blobs: readonly { u: number; v: number; r: number; amp: number }[];
  /** Non-enhancing perfusion defects, in node-relative coordinates (u, v in [-1, 1]) and radius as a fraction of b. */
  readonly defects: readonly { u: number; v: number; r: number }[];
}

export function gsusAppearance(t: number, size: number, rng: Rng): GsusAppearance {
  // Benign nodes are oval (long/short ~ 2.3), metastatic ones round (~1.1).
  const aspect = Math.max(1.05, 2.3 - 1.25 * t + rng.normal(0, 0.12));
  const a = size * rng.uniform(0.24, 0.32);
  const node: Ellipse = {
    cx: size / 2 + rng.normal(0, size * 0.04),
    cy: size / 2 + rng.normal(0, size * 0.04),
    a,
    b: a / aspect,
    angle: rng.normal(0, 0.35),
  };
  const hf = 0.68 * Math.pow(Math.max(0, 1 - t), 0.9) + rng.normal(0, 0.04);
  return { node, hilumFraction: hf < 0.14 ? 0 : hf, hilumOffset: 0.38 * t + rng.normal(0, 0.03) };
}

export function ceusAppearance(t: number, gsusNode: Ellipse, size: number, rng: Rng): CeusAppearance {
  // The contrast sweep is a separate acquisition: same node, another plane and zoom, so its outline
  // (size and shape) is drawn independently and carries no grayscale evidence.
  const aspect = rng.uniform(1.3, 1.9);
  const a = size * rng.uniform(0.22, 0.3);
  const node: Ellipse = { cx: gsusNode.cx, cy: gsusNode.cy, a, b: a / aspect, angle: rng.normal(0, 0.35) };
  const blobs = Array.from({ length: 5 }, () => ({
    u: rng.uniform(-0.6, 0.6),
    v: rng.uniform(-0.6, 0.6),
    r: rng.uniform(0.25, 0.45),
    amp: rng.uniform(-1, 1),
  }));
  const nDefects = t < 0.3 ? 0 : t < 0.55 ? 1 : t < 0.8 ? 2 : 3;
  const defects = Array.from({ length: nDefects }, () => ({
    u: rng.uniform(-0.5, 0.5),
    v: rng.uniform(-0.4, 0.4),
    r: 0.25 + 0.3 * t + rng.uniform(-0.05, 0.05),
  }));
  return { node, heterogeneity: 0.05 + 0.4 * t, blobs, defects };
}
