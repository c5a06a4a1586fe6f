// Small dense linear algebra for the coordinator: symmetric matrices as number[][] (p is the number
// of model terms, tens at most), Cholesky with rank detection, inverse, and Jacobi eigenvalues.

export type Matrix = number[][];

export function zeros(r: number, c: number): Matrix {
  return Array.from({ length: r }, () => new Array<number>(c).fill(0));
}

/** a += b, element-wise (matrices or vectors of the same shape). */
export function addInto(a: Matrix, b: Matrix): void {
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i]!.length; j++) a[i]![j]! += b[i]![j]!;
}
export function addVecInto(a: number[], b: readonly number[]): void {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
}

/**
 * Cholesky factor L (lower) of a symmetric positive-definite A; null when a pivot is not positive
 * relative to the diagonal (tolerance `tol`), i.e. A is singular to working precision.
 */
export function cholesky(a: Matrix, tol = 1e-10): Matrix | null {
  const n = a.length;
  const l = zeros(n, n);
  for (let j = 0; j < n; j++) {
    let d = a[j]![j]!;
    for (let k = 0; k < j; k++) d -= l[j]![k]! * l[j]![k]!;
    if (!(d > tol * Math.max(1e-300, Math.abs(a[j]![j]!)))) return null;
    const ljj = Math.sqrt(d);
    l[j]![j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      l[i]![j] = s / ljj;
    }
  }
  return l;
}

/**
 * Columns of a symmetric positive semi-definite A (in order) that are linearly dependent on the
 * columns before them - the same choice R's glm makes (later columns aliased). Returns the indices kept.
 */
export function independentColumns(a: Matrix, tol = 1e-9): number[] {
  const keep: number[] = [];
  for (let j = 0; j < a.length; j++) {
    const trial = [...keep, j];
    const sub = trial.map((r) => trial.map((c) => a[r]![c]!));
    if (cholesky(sub, tol) !== null) keep.push(j);
  }
  return keep;
}

export function choleskySolve(l: Matrix, b: readonly number[]): number[] {
  const n = l.length;
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

export function choleskyInverse(l: Matrix): Matrix {
  const n = l.length;
  const inv = zeros(n, n);
  for (let j = 0; j < n; j++) {
    const e = new Array<number>(n).fill(0);
    e[j] = 1;
    const col = choleskySolve(l, e);
    for (let i = 0; i < n; i++) inv[i]![j] = col[i]!;
  }
  return inv;
}

/** Eigenvalues (descending) and unit eigenvectors (columns of `vectors`) of a symmetric matrix, by cyclic Jacobi. */
export function symmetricEigen(a0: Matrix): { values: number[]; vectors: Matrix } {
  const n = a0.length;
  const a = a0.map((r) => [...r]);
  const v = zeros(n, n);
  for (let i = 0; i < n; i++) v[i]![i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i]![j]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!, akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!, aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!, vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y]![y]! - a[x]![x]!);
  return {
    values: order.map((i) => a[i]![i]!),
    vectors: Array.from({ length: n }, (_, r) => order.map((i) => v[r]![i]!)),
  };
}
