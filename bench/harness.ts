// Measurement discipline for benches on a shared machine: the compared variants run alternately
// (A B A B ..., so a burst of load from other processes hits both), each figure is the median of
// its runs with the spread (min-max) shown, and a high load average is reported up front while
// the ratios are still printed.
import { availableParallelism, loadavg } from 'node:os';

export interface Variant {
  readonly name: string;
  /** One run; returns the figure (higher is better, e.g. MB/s or samples/s). */
  run(): Promise<number>;
}

export interface Summary {
  readonly name: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs every variant `runs` times, alternating them (the order rotates each pass). */
export async function alternate(variants: readonly Variant[], runs: number, warmup = 1): Promise<Summary[]> {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${runs}`);
  for (let w = 0; w < warmup; w++) for (const v of variants) await v.run();
  const got = variants.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + r) % variants.length;
      got[i]!.push(await variants[i]!.run());
    }
  }
  return variants.map((v, i) => {
    const xs = got[i]!;
    return { name: v.name, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
  });
}

/** "123 (spread 110-130, 5 runs)" */
export function describe(s: Summary, digits = 0): string {
  return `${s.median.toFixed(digits)} (spread ${s.min.toFixed(digits)}-${s.max.toFixed(digits)}, ${s.runs.length} runs)`;
}

/** Ratio of medians with the range implied by the spreads (worst and best pairing). */
export function ratio(a: Summary, b: Summary): { value: number; low: number; high: number } {
  return { value: a.median / b.median, low: a.min / b.max, high: a.max / b.min };
}

/** Prints a note when the machine is busy; returns the 1-minute load average. */
export function loadWarning(print: (line: string) => void = console.log): number {
  const load = loadavg()[0]!;
  const cores = availableParallelism();
  if (load > 0.5 * cores) {
    print(`note: 1-minute load average is ${load.toFixed(2)} on ${cores} cores before this bench; other processes compete for the cores, ` +
      'so absolute figures are low; variants alternate and medians are shown, so the ratios are the figures to read');
  }
  return load;
}

/** Command-line option `--runs=N` (default `def`). */
export function runsOption(args: readonly string[], def: number): number {
  const v = args.find((a) => a.startsWith('--runs='))?.split('=')[1];
  const n = v === undefined ? def : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--runs must be a positive integer, got ${v}`);
  return n;
}
