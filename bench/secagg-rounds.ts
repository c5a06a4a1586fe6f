// Secure aggregation in a real study: an in-process coordinator and n in-process site agents (a
// fake trainer: delta = site offset + a site-specific wave, |delta| < 0.04) over real gRPC on
// loopback, a 10 MB model, 2 rounds, with and without secure aggregation, the two alternating
// (harness.ts). Every agent reaches the coordinator through byte-counting TCP relays - one for the
// gRPC port, one for the bulk channel's port (the coordinator advertises the relay's), so the
// bytes on the wire are everything TCP carried (HTTP/2 and gRPC framing, the session messages,
// the key set-up and unmasking phases, the model downloads and the uploads, whichever of the two
// ports they used), per site and round.
// Reported per n: round time (round 2: the first round also warms up connections), wire bytes,
// and the largest difference between the secure-aggregation global model and plain FedAvg's
// against the stated quantisation bound (per round; two rounds here).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { SiteSecAgg } from '../site-agent/secagg-handler.js';
import type { Trainer, TrainRequest, TrainResult, EvaluateRequest, ScoredCase } from '../site-agent/trainer.js';
import { maxBits, minimumThreshold } from '../shared/secagg/params.js';
import { quantizationErrorBound } from '../shared/secagg/quantize.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { alternate, describe, type Summary } from './harness.js';

const L = 2_500_000; // 10 MB of float32
const CLIP = 0.05;
const ROUNDS = 2;

class WaveTrainer implements Trainer {
  readonly backend = 'simulated';
  constructor(private readonly k: number, private readonly examples: number) {}
  cohortCounts() {
    return { train: this.examples };
  }
  async train(req: TrainRequest): Promise<TrainResult> {
    const g = req.global.data;
    const data = new Float32Array(g.length);
    const offset = 0.002 * ((this.k % 7) - 3);
    for (let i = 0; i < data.length; i++) data[i] = g[i]! + offset + 0.02 * Math.sin(i * 1e-3 * (this.k + 1));
    return { weights: { infos: req.global.infos, data }, numExamples: this.examples, metrics: { train_loss: 0.5 } };
  }
  async evaluate(_req: EvaluateRequest): Promise<ScoredCase[]> {
    return [];
  }
}

/** A TCP relay to `port` counting the bytes each way. */
async function countingRelay(port: number): Promise<{ port: number; up: () => number; down: () => number; close: () => Promise<void> }> {
  let up = 0;
  let down = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((a) => {
    const b = connect(port, '127.0.0.1');
    sockets.add(a).add(b);
    a.on('data', (d: Buffer) => { up += d.length; });
    b.on('data', (d: Buffer) => { down += d.length; });
    a.pipe(b);
    b.pipe(a);
    const end = () => { a.destroy(); b.destroy(); sockets.delete(a); sockets.delete(b); };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    up: () => up,
    down: () => down,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** A port nothing listens on at the moment (the bulk channel's, chosen before the coordinator starts). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface StudyRun {
  roundMs: number;
  bytesPerSiteRound: number;
  global: Float32Array;
}

async function runStudy(n: number, secure: boolean): Promise<StudyRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-secagg-'));
  const log = pino({ level: 'silent' });
  const sites = Array.from({ length: n }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);
  const threshold = minimumThreshold(n);
  const file = coordinatorFileSchema.parse({
    study: {
      id: 'sab', rounds: ROUNDS, min_sites: n, sites, round_deadline_s: 600, join_timeout_s: 120, outlier_norm_factor: 0,
      models: [{ name: 'm', architecture: 'simulated' }],
      ...(secure ? { secure_aggregation: { enabled: true, threshold, quantization: { clip: CLIP, bits: maxBits(n) } } } : {}),
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dir, insecure: true },
  });
  const initial: TensorSet = { infos: [{ name: 'w', shape: [L], dtype: 'float32' }], data: new Float32Array(L) };
  // Model bytes travel on the bulk channel: its port is relayed (and counted) too.
  const bulkPort = await freePort();
  const bulkRelay = await countingRelay(bulkPort);
  file.coordinator.bulk_port = bulkPort;
  file.coordinator.bulk_advertised_port = bulkRelay.port;
  const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]) });
  const relay = await countingRelay(h.port);
  const up = () => relay.up() + bulkRelay.up();
  const down = () => relay.down() + bulkRelay.down();
  let mark: { up: number; down: number } | null = null;
  const unsubscribe = h.events.subscribe((e) => {
    if (e.type === 'round_completed' && e.round === ROUNDS - 1) mark = { up: up(), down: down() };
  });
  const agents = sites.map((site, k) => {
    const handler = secure ? new SiteSecAgg({ studyId: 'sab', siteId: site, examples: () => 40 + 5 * k }) : null;
    return new SiteAgent({
      studyId: 'sab', siteId: site, address: `127.0.0.1:${relay.port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 500 }, channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
      ...(handler ? { phaseHandlers: { secagg: handler.handler }, secureAggregation: handler } : {}),
    }, new WaveTrainer(k, 40 + 5 * k), log);
  });
  try {
    const running = agents.map((a) => a.run().catch(() => ''));
    const outcome = await h.done;
    await Promise.all(running);
    if (outcome.state !== 'completed') throw new Error(`secagg bench: the ${n}-site study (${secure ? 'secure' : 'plain'}) ended ${outcome.state}: ${outcome.reason ?? ''}`);
    const last = outcome.rounds[outcome.rounds.length - 1]!;
    const m = mark ?? { up: 0, down: 0 };
    return {
      roundMs: last.ended - last.started,
      bytesPerSiteRound: (up() - m.up + down() - m.down) / n,
      global: h.store.get('m').set.data,
    };
  } finally {
    unsubscribe();
    for (const a of agents) a.shutdown();
    await relay.close();
    await bulkRelay.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function secaggRounds(sizes: readonly number[], runs: number): Promise<void> {
  console.log(`in a study over gRPC (in-process coordinator and agents, 10 MB model, ${ROUNDS} rounds, figures of the last round; plain and secure alternate):`);
  console.log('sites  round ms plain          round ms secure         time ratio  wire MB/site/round plain  secure  ratio   max |secure - plain| (bound)');
  let lastLine = '';
  for (const n of sizes) {
    const got: Record<'plain' | 'secure', StudyRun[]> = { plain: [], secure: [] };
    const [plain, secure] = await alternate((['plain', 'secure'] as const).map((v) => ({
      name: v,
      async run() {
        const r = await runStudy(n, v === 'secure');
        got[v].push(r);
        return r.roundMs;
      },
    })), runs, 0) as [Summary, Summary];
    const bp = got.plain.map((r) => r.bytesPerSiteRound).sort((a, b) => a - b)[got.plain.length >> 1]! / 1e6;
    const bs = got.secure.map((r) => r.bytesPerSiteRound).sort((a, b) => a - b)[got.secure.length >> 1]! / 1e6;
    const a = got.plain[0]!.global;
    const b = got.secure[0]!.global;
    let err = 0;
    for (let i = 0; i < L; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
    const bound = ROUNDS * (quantizationErrorBound(n, { clip: CLIP, bits: maxBits(n) }) + 1e-7);
    console.log(`${String(n).padStart(5)}  ${describe(plain).padEnd(22)} ${describe(secure).padEnd(22)}  ${(secure.median / plain.median).toFixed(2).padStart(9)}  ` +
      `${bp.toFixed(2).padStart(23)}  ${bs.toFixed(2).padStart(6)}  ${(bs / bp).toFixed(3)}   ${err.toExponential(2)} (${bound.toExponential(2)})`);
    lastLine = `${n} sites: round ${secure.median.toFixed(0)} ms with secure aggregation vs ${plain.median.toFixed(0)} ms plain (ratio ${(secure.median / plain.median).toFixed(2)}), ` +
      `wire ${bs.toFixed(2)} vs ${bp.toFixed(2)} MB per site and round (ratio ${(bs / bp).toFixed(3)}), global model within ${err.toExponential(2)} of plain FedAvg (bound ${bound.toExponential(2)})`;
  }
  console.log(`secagg rounds: ${lastLine}`);
}
