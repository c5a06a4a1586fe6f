// `fl data check` memory and time against the number of rows: 1 000 vs 3 000 rows of 800x600
// grey PNGs (every image distinct, so the leakage check has real work). The check holds one image
// at a time, so peak RSS should not grow with the rows; time should grow about linearly.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import type { Bench } from './types.js';

const W = 800;
const H = 600;

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

function measure(flJs: string, manifest: string): { rssMb: number; seconds: number; ok: boolean } {
  const r = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, flJs, 'data', 'check', manifest, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  const [kb, sec] = last.split(' ').map(Number);
  return { rssMb: (kb ?? NaN) / 1024, seconds: sec ?? NaN, ok: r.status === 0 };
}

export const dataBench: Bench = {
  name: 'data',
  description: '`fl data check` peak RSS and time, 1 000 vs 3 000 rows of 800x600 images',
  async run() {
    if (!existsSync('/usr/bin/time')) {
      console.log('data: needs /usr/bin/time (apt-get install time) to read the child process peak RSS');
      return;
    }
    const flJs = join(dirname(fileURLToPath(import.meta.url)), '../../bin/fl.js');
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
      console.log(`  wrote 3 000 PNGs of ${W}x${H} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const a = measure(flJs, join(dir, 'm1000.csv'));
      const b = measure(flJs, join(dir, 'm3000.csv'));
      for (const [n, m] of [[1000, a], [3000, b]] as const) {
        console.log(`  fl data check, ${n} rows: peak RSS ${m.rssMb.toFixed(0)} MB, ${m.seconds.toFixed(1)} s, ${(m.seconds / n * 1000).toFixed(1)} ms/row${m.ok ? '' : ' (FAILED)'}`);
      }
      console.log(
        `data: fl data check peak RSS ${a.rssMb.toFixed(0)} MB at 1 000 rows, ${b.rssMb.toFixed(0)} MB at 3 000 rows of ${W}x${H}: ratio ${(b.rssMb / a.rssMb).toFixed(2)} (3x the rows; 1.00 = independent of rows); time ratio ${(b.seconds / a.seconds).toFixed(2)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
