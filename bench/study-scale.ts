// A study of many simulated sites on one machine (in-process agents over real gRPC on loopback,
// a small model): round overhead = round time minus the slowest site's training time, and the
// coordinator's memory, as sites are added (10, 25, 50). Memory should stay flat: updates are
// spooled to disk and aggregated block by block.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { TRAIN_MS } from './scale-agents.js';
import { startCoordinator } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import type { Bench } from './types.js';

const PARAMS = 2_500_000; // 10 MB model

async function runStudy(sites: number, rounds: number): Promise<{ overheadMs: number; heapMB: number; rssMB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  const log = pino({ level: 'silent' });
  const names = Array.from({ length: sites }, (_, i) => `site-${i + 1}`);
  const file = coordinatorFileSchema.parse({
    study: { id: 'scale', rounds, min_sites: sites, sites: names, round_deadline_s: 300, models: [{ name: 'm', architecture: 'simulated' }] },
    coordinator: { listen: '127.0.0.1:0', data_dir: dir, insecure: true },
  });
  const initial: TensorSet = { infos: [{ name: 'w', shape: [PARAMS], dtype: 'float32' }], data: new Float32Array(PARAMS) };
  const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]) });
  if (globalThis.gc) globalThis.gc();
  const base = process.memoryUsage();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./scale-agents.js', import.meta.url)), '--run', String(h.port), String(sites)], { stdio: 'inherit' });
  let peakRss = 0;
  let peakHeap = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  }, 10);
  const outcome = await h.done;
  clearInterval(timer);
  await new Promise((r) => child.once('exit', r));
  await h.close();
  rmSync(dir, { recursive: true, force: true });
  // All sites train concurrently for TRAIN_MS; the rest of the round is protocol and aggregation.
  const durations = outcome.rounds.map((r) => r.ended - r.started).slice(1); // skip the warm-up round
  const overheadMs = durations.reduce((a, b) => a + b, 0) / durations.length - TRAIN_MS;
  return { overheadMs, heapMB: (peakHeap - base.heapUsed - base.arrayBuffers) / 1e6, rssMB: peakRss / 1e6 };
}

export const studyScaleBench: Bench = {
  name: 'study-scale',
  description: `round overhead and memory with 10/25/50 simulated sites (model ${(PARAMS * 4) / 1e6} MB, ${TRAIN_MS} ms training)`,
  async run() {
    const first = Number(process.env.FL_SCALE_FIRST ?? 10);
    const base = await runStudy(first, 3);
    console.log(`10 sites: round overhead ${base.overheadMs.toFixed(0)} ms, coordinator heap+buffers growth ${base.heapMB.toFixed(0)} MB, RSS ${base.rssMB.toFixed(0)} MB (agents in a child process)`);
    let last = base;
    for (const n of [25, 50]) {
      last = await runStudy(n, 3);
      console.log(`${n} sites: round overhead ${last.overheadMs.toFixed(0)} ms, coordinator heap+buffers growth ${last.heapMB.toFixed(0)} MB, RSS ${last.rssMB.toFixed(0)} MB`);
    }
    console.log(`study-scale: 50 sites round overhead ${last.overheadMs.toFixed(0)} ms, memory ratio 50/10 sites ${(last.heapMB / base.heapMB).toFixed(2)} (coordinator heap+buffers growth)`);
  },
};
