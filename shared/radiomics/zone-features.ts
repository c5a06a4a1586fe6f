// The feature set shared by the run length (GLRLM), size zone (GLSZM), distance zone (GLDZM) and
// dependence (NGLDM) matrices: every one is a count matrix m(i, j) of grey level i against a
// second index j (run length, zone size, zone distance, dependence count), and IBSI defines the
// same 16 sums over it (NGLDM adds the energy). The matrix is kept as its list of entries (one per
// run, zone or pixel), which stays small however large j gets.

export class Entries {
  private iv = new Int32Array(256);
  private jv = new Int32Array(256);
  length = 0;

  push(i: number, j: number): void {
    if (this.length === this.iv.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.iv = grow(this.iv);
      this.jv = grow(this.jv);
    }
    this.iv[this.length] = i;
    this.jv[this.length] = j;
    this.length++;
  }

  append(other: Entries): void {
    for (let k = 0; k < other.length; k++) this.push(other.iv[k]!, other.jv[k]!);
  }

  i(k: number): number {
    return this.iv[k]!;
  }

  j(k: number): number {
    return this.jv[k]!;
  }
}

export const ZONE_COUNT = 16;

/**
 * [small-j emphasis, large-j emphasis, low grey level emphasis, high grey level emphasis,
 *  small-j low grey, small-j high grey, large-j low grey, large-j high grey,
 *  grey level non-uniformity, normalised, j non-uniformity, normalised, percentage (Ns / nv),
 *  grey level variance, j variance, j entropy] (+ energy when `energy`); all NaN when empty.
 */
export function zoneFeatures(e: Entries, nv: number, energy = false): number[] {
  const ns = e.length;
  const count = ZONE_COUNT + (energy ? 1 : 0);
  if (ns === 0) return new Array<number>(count).fill(NaN);
  let sje = 0, lje = 0, lge = 0, hge = 0, sjlg = 0, sjhg = 0, ljlg = 0, ljhg = 0, imean = 0, jmean = 0;
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  const cells = new Map<number, number>();
  for (let k = 0; k < ns; k++) {
    const i = e.i(k);
    const j = e.j(k);
    const i2 = i * i;
    const j2 = j * j;
    sje += 1 / j2;
    lje += j2;
    lge += 1 / i2;
    hge += i2;
    sjlg += 1 / (i2 * j2);
    sjhg += i2 / j2;
    ljlg += j2 / i2;
    ljhg += i2 * j2;
    imean += i;
    jmean += j;
    rows.set(i, (rows.get(i) ?? 0) + 1);
    cols.set(j, (cols.get(j) ?? 0) + 1);
    const key = j * 1048576 + i;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  imean /= ns;
  jmean /= ns;
  let ivar = 0;
  let jvar = 0;
  for (let k = 0; k < ns; k++) {
    ivar += (e.i(k) - imean) ** 2;
    jvar += (e.j(k) - jmean) ** 2;
  }
  let glnu = 0;
  for (const c of rows.values()) glnu += c * c;
  let jnu = 0;
  for (const c of cols.values()) jnu += c * c;
  let entropy = 0;
  let en = 0;
  for (const c of cells.values()) {
    const p = c / ns;
    entropy -= p * Math.log2(p);
    en += p * p;
  }
  const out = [sje / ns, lje / ns, lge / ns, hge / ns, sjlg / ns, sjhg / ns, ljlg / ns, ljhg / ns, glnu / ns, glnu / (ns * ns), jnu / ns, jnu / (ns * ns), ns / nv, ivar / ns, jvar / ns, entropy];
  if (energy) out.push(en);
  return out;
}
