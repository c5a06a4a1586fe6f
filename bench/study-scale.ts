// A study of many simulated sites on one machine (in-process coordinator, agents in child
// processes - one per core by default - over real gRPC on loopback, a 10 MB model, 200 ms
// "training"), at 10, 25 and 50 sites:
//   - round overhead = mean round time (rounds after the first) minus the training time;
//   - the coordinator's CPU time per round (user + system, this process only: less sensitive to
//     other processes on a shared machine than wall time);
//   - the coordinator's memory: peak growth over the idle coordinator of heap + array buffers and
//     of RSS, as a ratio 50/10 sites and as MB per added site;
//   - the agents' processes' CPU time, and from both the CPU time per site per round: on a machine
//     with few cores that, not the protocol, bounds the round time.
// The site counts alternate (harness.ts) and every figure is a median with its spread. Memory
// should stay flat: downloads are hashed and encoded once per model version, uploads wait for a
// transfer slot before sending data, updates are spooled to disk and aggregated block by block
// within a fixed buffer budget, and study-log appends are group-committed.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { TRAIN_MS } from './scale-agents.js';
import { startCoordinator } from '../coordinator/coordinator.js';
import { DEFAULT_CONCURRENT_TRANSFERS } from '../coordinator/server.js';
import { UPLOAD_PIPELINE } from '../coordinator/update-receiver.js';
import { BULK_READ_AHEAD } from '../shared/transport/bulk-wire.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { alternate, describe, loadWarning, median, runsOption, type Summary } from './harness.js';
import type { Bench } from './types.js';

const PARAMS = 2_500_000; // 10 MB model
/**
 * How often the coordinator's memory is sampled for its peak. Often: with 10 sites the peak of
 * buffers in flight lasts only while several uploads overlap (sampled every 50 ms, one run saw no
 * growth at all). process.memoryUsage() costs some CPU, counted as the coordinator's (measured: no
 * difference in its CPU per round between 10 and 50 ms).
 */
const MEMORY_SAMPLE_MS = 10;
const ROUNDS = 3;
/**
 * Child processes hosting the simulated agents (--agent-procs=N; default: one per core). With all
 * 50 agents in one process, that one thread needed more CPU per round (about 100 ms per agent:
 * download check, delta, digest, upload encoding and grpc-js copies) than the 3 s target allows,
 * whatever the coordinator did; real sites run on machines of their own.
 */
const AGENT_PROCS = availableParallelism(); // the first is a warm-up (connections, first allocations) and is not counted

interface StudyRun {
  /** Heap + buffers still held once the study is over, after a full collection, over the idle coordinator's (MB; null without --expose-gc). */
  retainedMB: number | null;
  overheadMs: number;
  cpuMsPerRound: number;
  heapMB: number;
  rssMB: number;
  /** CPU of the agents' processes (all rounds, start-up included) per round. */
  agentCpuMsPerRound: number;
  /** The heap+buffers peak split into its two parts. */
  peakSplit: string;
}

async function runStudy(sites: number, children: number): Promise<StudyRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  const log = pino({ level: 'silent' });
  const names = Array.from({ length: sites }, (_, i) => `site-${i + 1}`);
  const file = coordinatorFileSchema.parse({
    study: { id: 'scale', rounds: ROUNDS, min_sites: sites, sites: names, round_deadline_s: 300, models: [{ name: 'm', architecture: 'simulated' }] },
    coordinator: { listen: '127.0.0.1:0', data_dir: dir, insecure: true },
  });
  const initial: TensorSet = { infos: [{ name: 'w', shape: [PARAMS], dtype: 'float32' }], data: new Float32Array(PARAMS) };
  const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]) });
  try {
    if (globalThis.gc) globalThis.gc();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed + base.arrayBuffers;
    let atPeak = { heap: base.heapUsed, buffers: base.arrayBuffers };
    const timer = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      if (m.heapUsed + m.arrayBuffers > peakHeap) {
        peakHeap = m.heapUsed + m.arrayBuffers;
        atPeak = { heap: m.heapUsed, buffers: m.arrayBuffers };
      }
    }, MEMORY_SAMPLE_MS);
    // CPU of the counted rounds: from the end of the warm-up round to the end of the study.
    let cpuFrom: NodeJS.CpuUsage | null = null;
    const unsubscribe = h.events.subscribe((e) => {
      if (e.type === 'round_completed' && e.round === 1) cpuFrom = process.cpuUsage();
    });
    // The agents, in `children` processes (sites split evenly), each reporting its CPU time at exit.
    const per = Math.ceil(sites / children);
    const agentCpu: Promise<number>[] = [];
    for (let first = 1; first <= sites; first += per) {
      // FL_SCALE_AGENT_NODE_ARGS: extra node options for the agents' processes (e.g. --cpu-prof).
      const nodeArgs = (process.env.FL_SCALE_AGENT_NODE_ARGS ?? '').split(' ').filter((a) => a);
      const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL('./scale-agents.js', import.meta.url)), '--run', String(h.port), String(Math.min(per, sites - first + 1)), String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
      agentCpu.push(new Promise((r) => child.once('exit', () => r(Number(/cpu-ms ([0-9.]+)/.exec(out)?.[1] ?? NaN)))));
    }
    const exited = Promise.all(agentCpu);
    const outcome = await h.done;
    const cpu = process.cpuUsage(cpuFrom ?? undefined);
    clearInterval(timer);
    // What the coordinator still holds for these sites once the study is over (a leak per site would show here).
    let retainedMB: number | null = null;
    if (globalThis.gc) {
      // Twice, a turn apart: the first collection's weak callbacks (closed sockets, finished calls) free more.
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
      const after = process.memoryUsage();
      retainedMB = (after.heapUsed + after.arrayBuffers - base.heapUsed - base.arrayBuffers) / 1e6;
    }
    unsubscribe();
    const childCpuMs = (await exited).reduce((a, b) => a + b, 0);
    if (outcome.state !== 'completed') throw new Error(`study-scale: the ${sites}-site study ended ${outcome.state}: ${outcome.reason ?? ''}`);
    // All sites train concurrently for TRAIN_MS; the rest of the round is protocol and aggregation.
    const durations = outcome.rounds.map((r) => r.ended - r.started).slice(1);
    return {
      retainedMB,
      overheadMs: durations.reduce((a, b) => a + b, 0) / durations.length - TRAIN_MS,
      cpuMsPerRound: (cpu.user + cpu.system) / 1000 / durations.length,
      heapMB: (peakHeap - base.heapUsed - base.arrayBuffers) / 1e6,
      rssMB: (peakRss - base.rss) / 1e6,
      agentCpuMsPerRound: childCpuMs / outcome.rounds.length, // all rounds and start-up, averaged
      peakSplit: `heap ${((atPeak.heap - base.heapUsed) / 1e6).toFixed(0)} MB + buffers ${((atPeak.buffers - base.arrayBuffers) / 1e6).toFixed(0)} MB`,
    };
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function summary(name: string, xs: number[]): Summary {
  return { name, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
}

export const studyScaleBench: Bench = {
  name: 'study-scale',
  description: `round overhead, coordinator CPU and memory with 10/25/50 simulated sites (model ${(PARAMS * 4) / 1e6} MB, ${TRAIN_MS} ms training; site counts alternate, medians with spreads; --runs=N, default 2; agents spread over --agent-procs=N child processes, default one per core)`,
  async run(args) {
    const sizes = (process.env.FL_SCALE_SIZES ?? '10,25,50').split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`FL_SCALE_SIZES must list positive integers, got ${process.env.FL_SCALE_SIZES}`);
    const runs = runsOption(args, 2);
    const procsArg = args.find((a) => a.startsWith('--agent-procs='))?.split('=')[1] ?? process.env.FL_SCALE_AGENT_PROCS ?? String(AGENT_PROCS);
    const procs = Number(procsArg);
    if (!Number.isInteger(procs) || procs < 1) throw new Error(`--agent-procs must be a positive integer, got ${procsArg}`);
    loadWarning();
    const got = new Map<number, StudyRun[]>(sizes.map((n) => [n, []]));
    await alternate(sizes.map((n) => ({
      name: `${n} sites`,
      async run() {
        const r = await runStudy(n, procs);
        got.get(n)!.push(r);
        return r.overheadMs;
      },
    })), runs, 0);
    const rows = sizes.map((n) => {
      const rs = got.get(n)!;
      return {
        n,
        overhead: summary('overhead', rs.map((r) => r.overheadMs)),
        cpu: summary('cpu', rs.map((r) => r.cpuMsPerRound)),
        heap: summary('heap', rs.map((r) => r.heapMB)),
        rss: summary('rss', rs.map((r) => r.rssMB)),
        agentCpu: summary('agent cpu', rs.map((r) => r.agentCpuMsPerRound)),
        retained: rs.every((r) => r.retainedMB !== null) ? summary('retained', rs.map((r) => r.retainedMB!)) : null,
        split: rs.map((r) => r.peakSplit).join('; '),
      };
    });
    for (const r of rows) {
      console.log(`${r.n} sites: round overhead ${describe(r.overhead)} ms, coordinator CPU ${describe(r.cpu)} ms per round, ` +
        `heap+buffers growth ${describe(r.heap)} MB (at the peak: ${r.split}), RSS growth ${describe(r.rss)} MB, ` +
        `${r.retained ? `retained after the study ${describe(r.retained)} MB` : 'retained after the study not measured (run with node --expose-gc)'}; agents' CPU ${describe(r.agentCpu)} ms per round ` +
        `(${procs === 1 ? 'all agents in one child process' : `agents spread over ${procs} child processes`}; coordinator CPU ${(r.cpu.median / r.n).toFixed(1)} ms per site per round)`);
    }
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    const added = last.n - first.n;
    const perSite = (a: Summary, b: Summary) => (added > 0 ? (b.median - a.median) / added : 0);
    const retainedPerSite = first.retained && last.retained ? `, retained after the study ${perSite(first.retained, last.retained).toFixed(2)} MB` : '';
    console.log(`per added site (${first.n} -> ${last.n}): heap+buffers ${perSite(first.heap, last.heap).toFixed(2)} MB, RSS ${perSite(first.rss, last.rss).toFixed(2)} MB${retainedPerSite}, ` +
      `coordinator CPU ${perSite(first.cpu, last.cpu).toFixed(1)} ms per round, round overhead ${perSite(first.overhead, last.overhead).toFixed(0)} ms ` +
      `(the agents of all sites share this machine's cores with the coordinator: their hashing and encoding is in the round time, not in the coordinator's CPU)`);
    const ratio = last.heap.median / first.heap.median;
    const rssRatio = last.rss.median / first.rss.median;
    const cpuRatio = last.cpu.median / first.cpu.median;
    // What the CPU alone takes: every site's coordinator and agent work on this machine's cores.
    const cores = availableParallelism();
    const coordPerSite = last.cpu.median / last.n;
    const agentPerSite = last.agentCpu.median / last.n;
    const floorMs = ((coordPerSite + agentPerSite) * last.n) / cores;
    console.log(`CPU per site per round at ${last.n} sites: coordinator ${coordPerSite.toFixed(1)} ms, agent ${agentPerSite.toFixed(1)} ms (agents' processes, start-up included); ` +
      `on ${cores} cores that alone is about ${floorMs.toFixed(0)} ms per round (the agents' share slightly high: it includes their start-up and warm-up round; 1-minute load average ${loadavg()[0]!.toFixed(2)})`);
    const met = last.overhead.median <= 3000;
    const why = met ? '' : floorMs > 3000
      ? `; not reachable here: coordinator and ${last.n} simulated sites share ${cores} cores and need about ${floorMs.toFixed(0)} ms of CPU per round between them (coordinator ${coordPerSite.toFixed(0)} ms per site for 10 MB in and 10 MB out: SHA-256, sums of squares (norm and finiteness) and spool writes of the upload, socket copies both ways on the bulk channel, the aggregation over the spooled updates, and the collector threads; each simulated site about as much: the download's SHA-256, the delta, the update's digest); with sites on their own machines the coordinator's share is ${(coordPerSite * last.n / cores).toFixed(0)} ms`
      : `; the CPU time alone is about ${floorMs.toFixed(0)} ms, the rest is waiting (other processes on the cores, round-trips, fsync)`;
    // When the peak ratio misses: what the coordinator still holds after each study (state per site) against the peak.
    const inFlightMiB = DEFAULT_CONCURRENT_TRANSFERS * (BULK_READ_AHEAD + UPLOAD_PIPELINE + 1);
    const memWhy = ratio <= 1.5 ? '' : first.retained && last.retained
      ? `; memory: once a study is over the coordinator holds ${first.retained.median.toFixed(0)} MB more than idle at ${first.n} sites and ${last.retained.median.toFixed(0)} MB at ${last.n} ` +
        `(${perSite(first.retained, last.retained).toFixed(2)} MB per added site), so the peaks above that are not state per site but uploads in flight ` +
        `(at most ${inFlightMiB} MiB: ${DEFAULT_CONCURRENT_TRANSFERS} transfer slots x ${BULK_READ_AHEAD + UPLOAD_PIPELINE + 1} blocks of 1 MiB) and buffers not yet collected, which grow with how many transfers overlap; ` +
        `what would close it: fewer buffers allocated per byte moved on the coordinator's thread, or fewer uploads in flight at once`
      : '; memory: run with node --expose-gc to see what the coordinator retains per site';
    console.log(`study-scale: ${last.n} sites round overhead ${last.overhead.median.toFixed(0)} ms, memory ratio ${last.n}/${first.n} sites ${ratio.toFixed(2)} ` +
      `(coordinator heap+buffers growth; RSS growth ratio ${rssRatio.toFixed(2)}; coordinator CPU per round ratio ${cpuRatio.toFixed(2)} for ${(last.n / first.n).toFixed(1)}x the sites; ` +
      `${procs === 1 ? 'agents in one child process' : `agents spread over ${procs} child processes`}; ` +
      `targets: overhead <= 3000 ms ${met ? 'met' : 'NOT met'}, memory ratio <= 1.5 ${ratio <= 1.5 ? 'met' : 'NOT met'}${why}${memWhy})`);
  },
};
