// `fl data check` memory and time against the number of rows: 1 000 vs 3 000 rows of 800x600
// grey PNGs (every image distinct, so the leakage check has real work). The check holds one image
// at a time, so peak RSS should not grow with the rows; time should grow about linearly.
// Then the site's training path on the same images (bench/data-train-child.ts, a child process
// each, peak RSS from /usr/bin/time): opening the dataset (decode + preprocess into the on-disk
// tensor cache) and one training epoch at 128 px over 1 000 vs 3 000 train cases, streamed from
// that cache. Holding the archive would cost 0.46 MB (decoded 8-bit) or 64 KB (128 px float32
// tensor) per case; streaming keeps peak RSS at O(batch + model).
// Measured (2 shared cores, wasm, other engineers' jobs running): fl data check 195 MB / 180 MB
// peak RSS at 1 000 / 3 000 rows (ratio 0.92); dataset preparation 156 / 171 MB (1.10), 36 / 54 s;
// one epoch at 128 px 426 / 435 MB (ratio 1.02; holding the tensors would add 125 MB, the decoded
// sources 916 MB), 17 / 56 s (about 55-60 samples/s on wasm, one thread).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import type { Bench } from './types.js';

const W = 800;
const H = 600;
/** One 128 px grey float32 tensor. */
const INPUT_BYTES = 128 * 128 * 4;

function image(i: number): Buffer {
  const png = new PNG({ width: W, height: H, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  const data = Buffer.alloc(W * H);
  const phase = (i * 37) % 251;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = (((x + phase) >> 2) + ((y * (1 + (i % 7))) >> 3)) & 0xff;
  // A per-image stamp: no two images share pixels.
  data.writeUInt32LE(i, 0);
  png.data = data;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

interface Measured {
  readonly rssMb: number;
  readonly seconds: number;
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

function timed(args: readonly string[]): Measured {
  const r = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  const [kb, sec] = last.split(' ').map(Number);
  return { rssMb: (kb ?? NaN) / 1024, seconds: sec ?? NaN, ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

function measure(flJs: string, manifest: string): Measured {
  return timed([flJs, 'data', 'check', manifest, '--json']);
}

interface ChildReport {
  readonly cases: number;
  readonly backend: string;
  readonly openSeconds: number;
  readonly epochSeconds?: number;
  readonly steps?: number;
  readonly samplesPerSecond?: number;
  readonly heapUsedMb: number;
  readonly arrayBuffersMb: number;
}

function child(script: string, mode: 'prepare' | 'epoch', manifest: string, cacheDir: string): Measured & { report?: ChildReport } {
  const m = timed([script, mode, manifest, cacheDir]);
  const line = m.stdout.trim().split('\n').at(-1) ?? '';
  if (!m.ok || !line.startsWith('{')) {
    console.log(`  ${mode} ${manifest} FAILED:\n${m.stderr.split('\n').slice(-15).join('\n')}`);
    return m;
  }
  return { ...m, report: JSON.parse(line) as ChildReport };
}

export const dataBench: Bench = {
  name: 'data',
  description: '`fl data check` peak RSS and time, 1 000 vs 3 000 rows of 800x600 images; site dataset preparation and one training epoch at 128 px over 1 000 vs 3 000 cases',
  async run() {
    if (!existsSync('/usr/bin/time')) {
      console.log('data: needs /usr/bin/time (apt-get install time) to read the child process peak RSS');
      return;
    }
    const here = dirname(fileURLToPath(import.meta.url));
    const flJs = join(here, '../../bin/fl.js');
    const trainJs = join(here, 'data-train-child.js');
    const dir = mkdtempSync(join(tmpdir(), 'fl-bench-data-'));
    try {
      mkdirSync(join(dir, 'img'));
      const t0 = performance.now();
      const rows: string[] = [];
      for (let i = 0; i < 3000; i++) {
        writeFileSync(join(dir, 'img', `c${i}.png`), image(i));
        rows.push(`C${i},${['train', 'validation', 'test', 'prospective'][i % 4]},${i % 3 === 0 ? 1 : 0},img/c${i}.png`);
      }
      const header = 'case_id,cohort,label,gsus';
      writeFileSync(join(dir, 'm1000.csv'), [header, ...rows.slice(0, 1000)].join('\n') + '\n');
      writeFileSync(join(dir, 'm3000.csv'), [header, ...rows].join('\n') + '\n');
      // Training manifests: every case in the train cohort.
      const trainRows = rows.map((r) => r.replace(/^(C\d+),[a-z]+,/, '$1,train,'));
      writeFileSync(join(dir, 't1000.csv'), [header, ...trainRows.slice(0, 1000)].join('\n') + '\n');
      writeFileSync(join(dir, 't3000.csv'), [header, ...trainRows].join('\n') + '\n');
      console.log(`  wrote 3 000 PNGs of ${W}x${H} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const a = measure(flJs, join(dir, 'm1000.csv'));
      const b = measure(flJs, join(dir, 'm3000.csv'));
      for (const [n, m] of [[1000, a], [3000, b]] as const) {
        console.log(`  fl data check, ${n} rows: peak RSS ${m.rssMb.toFixed(0)} MB, ${m.seconds.toFixed(1)} s, ${(m.seconds / n * 1000).toFixed(1)} ms/row${m.ok ? '' : ' (FAILED)'}`);
      }
      // Training: a cold cache per size (so preparation decodes every image), then one epoch from it.
      const train: Record<number, { prep: ReturnType<typeof child>; epoch: ReturnType<typeof child> }> = {};
      for (const n of [1000, 3000]) {
        const cache = join(dir, `cache${n}`);
        const prep = child(trainJs, 'prepare', join(dir, `t${n}.csv`), cache);
        const epoch = child(trainJs, 'epoch', join(dir, `t${n}.csv`), cache);
        train[n] = { prep, epoch };
        const p = prep.report;
        const e = epoch.report;
        console.log(
          `  site dataset, ${n} cases: prepare (decode + preprocess into the cache) peak RSS ${prep.rssMb.toFixed(0)} MB, ${prep.seconds.toFixed(1)} s` +
            `${p ? ` (${(p.openSeconds / n * 1000).toFixed(1)} ms/case)` : ' (FAILED)'}; ` +
            `one epoch at 128 px from the warm cache peak RSS ${epoch.rssMb.toFixed(0)} MB, ${epoch.seconds.toFixed(1)} s` +
            (e ? ` (open ${e.openSeconds.toFixed(1)} s, epoch ${e.epochSeconds!.toFixed(1)} s, ${e.steps} steps of 32, ${e.samplesPerSecond!.toFixed(0)} samples/s on ${e.backend}; ` +
              `heap ${e.heapUsedMb.toFixed(0)} MB, array buffers ${e.arrayBuffersMb.toFixed(0)} MB at the end)` : ' (FAILED)'),
        );
      }
      const t1 = train[1000]!;
      const t3 = train[3000]!;
      console.log(
        `data (training epoch): one epoch at 128 px (single_modality, batch 32) peak RSS ${t1.epoch.rssMb.toFixed(0)} MB at 1 000 cases, ${t3.epoch.rssMb.toFixed(0)} MB at 3 000 cases of ${W}x${H}: ` +
          `ratio ${(t3.epoch.rssMb / t1.epoch.rssMb).toFixed(2)} (holding the 128 px tensors would add ${((2000 * INPUT_BYTES) / 2 ** 20).toFixed(0)} MB, the decoded sources ${((2000 * W * H) / 2 ** 20).toFixed(0)} MB); ` +
          `time ratio ${(t3.epoch.seconds / t1.epoch.seconds).toFixed(2)}; preparation peak RSS ratio ${(t3.prep.rssMb / t1.prep.rssMb).toFixed(2)}, time ratio ${(t3.prep.seconds / t1.prep.seconds).toFixed(2)}`,
      );
      console.log(
        `data: fl data check peak RSS ${a.rssMb.toFixed(0)} MB at 1 000 rows, ${b.rssMb.toFixed(0)} MB at 3 000 rows of ${W}x${H}: ratio ${(b.rssMb / a.rssMb).toFixed(2)} (3x the rows; 1.00 = independent of rows); time ratio ${(b.seconds / a.seconds).toFixed(2)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
