// Colour Doppler (CDUS) over a B-mode image: flow is shown in a colour box around the node, red
// towards the probe and blue away from it, brighter for faster flow. Benign nodes show hilar flow
// along the long axis; suspicious ones show more, peripheral (cortical / capsular) vessels.
import type { Gray } from './image-ops.js';
import { ellipseRadius, type Ellipse } from './lymph-node.js';
import type { Rng } from './rng.js';

export interface Rgb {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, 8-bit. */
  readonly data: Uint8Array;
}

interface Vessel {
  /** Node-relative polyline start (u along the long axis, v across, in [-1, 1]) and direction. */
  u: number;
  v: number;
  du: number;
  dv: number;
  length: number;
  width: number;
  /** Signed velocity in [-1, 1]: positive towards the probe (red). */
  velocity: number;
}

/** `suspicion` in [0, 1] (as from lymph-node.ts's suspicion()). */
export function renderDoppler(bmode: Gray, node: Ellipse, suspicion: number, rng: Rng): Rgb {
  const { width: W, height: H } = bmode;
  const vessels: Vessel[] = [];
  // Hilar flow: one central vessel along the long axis, weaker with suspicion.
  if (rng.next() > suspicion * 0.8) {
    vessels.push({ u: rng.uniform(-0.7, -0.4), v: rng.uniform(-0.1, 0.1), du: 1, dv: rng.uniform(-0.15, 0.15), length: rng.uniform(0.8, 1.3), width: 0.09, velocity: rng.uniform(0.4, 0.9) * (rng.bernoulli(0.5) ? 1 : -1) });
  }
  // Peripheral vessels near the capsule, more of them with suspicion.
  const nPeripheral = Math.round(suspicion * 6 + rng.uniform(0, 1.5));
  for (let k = 0; k < nPeripheral; k++) {
    const t = rng.uniform(0, 2 * Math.PI);
    vessels.push({
      u: 0.8 * Math.cos(t),
      v: 0.8 * Math.sin(t),
      du: -Math.sin(t),
      dv: Math.cos(t),
      length: rng.uniform(0.25, 0.6),
      width: 0.07,
      velocity: rng.uniform(0.3, 1) * (rng.bernoulli(0.5) ? 1 : -1),
    });
  }
  const c = Math.cos(node.angle);
  const s = Math.sin(node.angle);
  // The colour box: the node's bounding square with a margin.
  const half = Math.max(node.a, node.b) * 1.4;
  const x0 = Math.max(0, Math.floor(node.cx - half));
  const x1 = Math.min(W, Math.ceil(node.cx + half));
  const y0 = Math.max(0, Math.floor(node.cy - half));
  const y1 = Math.min(H, Math.ceil(node.cy + half));
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    const g = Math.round(Math.min(1, Math.max(0, bmode.data[i]!)) * 255);
    data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = g;
  }
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (ellipseRadius(node, x, y) > 1.15) continue;
      const dx = x - node.cx;
      const dy = y - node.cy;
      const u = (dx * c + dy * s) / node.a;
      const w = (-dx * s + dy * c) / node.b;
      let best = 0;
      for (const ve of vessels) {
        const norm = Math.hypot(ve.du, ve.dv);
        const tx = ve.du / norm;
        const ty = ve.dv / norm;
        const along = Math.min(ve.length, Math.max(0, (u - ve.u) * tx + (w - ve.v) * ty));
        const d = Math.hypot(u - (ve.u + along * tx), w - (ve.v + along * ty));
        if (d < ve.width) {
          const profile = 1 - (d / ve.width) ** 2; // laminar: fastest in the centre
          const vel = ve.velocity * profile;
          if (Math.abs(vel) > Math.abs(best)) best = vel;
        }
      }
      if (best === 0) continue;
      const m = Math.abs(best);
      const i = 3 * (y * W + x);
      if (best > 0) {
        data[i] = Math.round(110 + 145 * m);
        data[i + 1] = Math.round(20 + 60 * m * m);
        data[i + 2] = 20;
      } else {
        data[i] = 20;
        data[i + 1] = Math.round(40 + 90 * m * m);
        data[i + 2] = Math.round(110 + 145 * m);
      }
    }
  }
  return { width: W, height: H, data };
}
