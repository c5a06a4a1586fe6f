// 2D morphology of a mask (IBSI defines 3D morphology only; these follow PyRadiomics' shape2D):
// the contour is traced by marching squares through the midpoints between pixel centres (a single
// pixel becomes a diamond of area 1/2), so area and perimeter do not depend on the staircase of
// pixel edges. Diagonal-only neighbours are kept apart (saddle cells split).

export interface Spacing {
  /** mm per pixel along x (columns) and y (rows). */
  readonly x: number;
  readonly y: number;
}

export const MORPH_COUNT = 13;

interface Contour {
  area: number;
  perimeter: number;
  points: number[];
}

function contour(mask: Uint8Array, w: number, h: number, s: Spacing): Contour {
  const at = (x: number, y: number) => (x >= 0 && y >= 0 && x < w && y < h && mask[y * w + x] ? 1 : 0);
  let area2 = 0;
  let perimeter = 0;
  const points: number[] = [];
  // Corners clockwise (y down): c0 (x,y), c1 (x+1,y), c2 (x+1,y+1), c3 (x,y+1); edge k joins ck and ck+1.
  const mid = [
    [0.5, 0],
    [1, 0.5],
    [0.5, 1],
    [0, 0.5],
  ] as const;
  const inside = [0, 0, 0, 0];
  for (let y = -1; y < h; y++) {
    for (let x = -1; x < w; x++) {
      inside[0] = at(x, y);
      inside[1] = at(x + 1, y);
      inside[2] = at(x + 1, y + 1);
      inside[3] = at(x, y + 1);
      const n = inside[0] + inside[1] + inside[2] + inside[3];
      if (n === 0 || n === 4) continue;
      // Walking the edges clockwise, pair each entry (outside -> inside) with the next exit.
      for (let k = 0; k < 4; k++) {
        if (inside[k] || !inside[(k + 1) % 4]) continue;
        let e = (k + 1) % 4;
        while (!(inside[e] && !inside[(e + 1) % 4])) e = (e + 1) % 4;
        const ax = (x + mid[k]![0]) * s.x;
        const ay = (y + mid[k]![1]) * s.y;
        const bx = (x + mid[e]![0]) * s.x;
        const by = (y + mid[e]![1]) * s.y;
        area2 += ax * by - bx * ay;
        perimeter += Math.hypot(bx - ax, by - ay);
        points.push(ax, ay);
      }
    }
  }
  return { area: Math.abs(area2) / 2, perimeter, points };
}

/** Convex hull (Andrew's monotone chain) of flat [x0, y0, x1, y1, ...] points, counter-clockwise. */
export function convexHull(flat: readonly number[]): [number, number][] {
  const pts: [number, number][] = [];
  for (let k = 0; k < flat.length; k += 2) pts.push([flat[k]!, flat[k + 1]!]);
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const uniq = pts.filter((p, k) => k === 0 || p[0] !== pts[k - 1]![0] || p[1] !== pts[k - 1]![1]);
  if (uniq.length < 3) return uniq;
  const cross = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of uniq) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let k = uniq.length - 1; k >= 0; k--) {
    const p = uniq[k]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** 2D morphology in registry order (morph2d_*), in mm. */
export function morph2dFeatures(mask: Uint8Array, w: number, h: number, s: Spacing): number[] {
  let n = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      n++;
      mx += x * s.x;
      my += y * s.y;
    }
  }
  if (n === 0) return new Array<number>(MORPH_COUNT).fill(NaN);
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      const dx = x * s.x - mx;
      const dy = y * s.y - my;
      sxx += dx * dx;
      syy += dy * dy;
      sxy += dx * dy;
    }
  }
  sxx /= n;
  syy /= n;
  sxy /= n;
  const tr = sxx + syy;
  const disc = Math.sqrt(Math.max(0, ((sxx - syy) / 2) ** 2 + sxy * sxy));
  const l1 = tr / 2 + disc;
  const l2 = Math.max(0, tr / 2 - disc);
  const c = contour(mask, w, h, s);
  const hull = convexHull(c.points);
  let hullArea2 = 0;
  let hullPerimeter = 0;
  for (let k = 0; k < hull.length; k++) {
    const a = hull[k]!;
    const b = hull[(k + 1) % hull.length]!;
    hullArea2 += a[0] * b[1] - b[0] * a[1];
    hullPerimeter += Math.hypot(b[0] - a[0], b[1] - a[1]);
  }
  let maxD2 = 0;
  for (let a = 0; a < hull.length; a++) {
    for (let b = a + 1; b < hull.length; b++) {
      const d2 = (hull[a]![0] - hull[b]![0]) ** 2 + (hull[a]![1] - hull[b]![1]) ** 2;
      if (d2 > maxD2) maxD2 = d2;
    }
  }
  const area = c.area;
  const hullArea = Math.abs(hullArea2) / 2;
  const P = c.perimeter;
  return [
    area,
    n * s.x * s.y,
    P,
    P / area,
    (2 * Math.sqrt(Math.PI * area)) / P,
    (4 * Math.PI * area) / (P * P),
    Math.sqrt(maxD2),
    4 * Math.sqrt(l1),
    4 * Math.sqrt(l2),
    l1 > 0 ? Math.sqrt(l2 / l1) : NaN,
    hullArea,
    hullArea > 0 ? area / hullArea : NaN,
    hullPerimeter / P,
  ];
}
