// Secure aggregation cost for 3, 10 and 20 sites and a 10 MB model (2.5 M float32), one site
// dropping before its masked upload (so the server also recomputes that site's pairwise masks):
//   - per-site masking throughput (quantise + self mask + n-1 pairwise AES-CTR masks, chunked),
//     against quantising alone measured in the same run;
//   - server unmasking time (secret reconstruction + mask removal over the survivors' uploads),
//     against the plain float sum of the same number of updates measured in the same run;
//   - bytes per site on the wire (protocol messages as JSON + the masked upload) vs a plain
//     float32 upload: the ratio;
//   - quantisation error of the dequantised mean against the float64 mean of the clipped updates.
// Protocol messages are counted as their JSON length (the gRPC encoding of the integration may
// differ by a constant factor on these few kilobytes; the upload dominates).
import { SecAggClient, fillFromFloats } from '../shared/secagg/client.js';
import { maxBits, minimumThreshold } from '../shared/secagg/params.js';
import { dequantize, quantizationErrorBound, quantizeInto } from '../shared/secagg/quantize.js';
import { SecAggServer } from '../shared/secagg/server.js';
import { Session } from '../shared/secagg/session.js';
import { availableParallelism, loadavg } from 'node:os';
import type { Bench } from './types.js';
import { secaggRounds } from './secagg-rounds.js';
import { runsOption } from './harness.js';

const L = 2_500_000;
const CLIP = 0.05;

/** A deterministic update of site k: a shared smooth part plus site-specific noise, |x| < 0.04. */
function update(k: number): Float32Array {
  const x = new Float32Array(L);
  let s = (0x9e3779b9 * (k + 1)) >>> 0;
  for (let i = 0; i < L; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    x[i] = 0.02 * Math.sin(i * 1e-3) + 0.02 * (s / 4294967296 - 0.5);
  }
  return x;
}

function jsonBytes(m: unknown): number {
  return Buffer.byteLength(JSON.stringify(m));
}

interface Row {
  n: number;
  threshold: number;
  bits: number;
  maskMBs: number;
  quantMBs: number;
  unmaskS: number;
  plainSumS: number;
  wirePerSite: number;
  ratio: number;
  maxErr: number;
  bound: number;
  rms: number;
}

async function runN(n: number): Promise<Row> {
  const sites = Array.from({ length: n }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);
  const threshold = minimumThreshold(n);
  const bits = maxBits(n);
  const session = new Session({ study: 'bench', round: 1, sites, threshold, quantization: { clip: CLIP, bits }, elements: L, chunkElements: 1 << 16 });
  const clients = sites.map((s) => new SecAggClient(session, s));
  const server = new SecAggServer(session);
  const wire = new Map<string, number>(sites.map((s) => [s, 0]));
  const add = (s: string, b: number) => wire.set(s, wire.get(s)! + b);

  for (const c of clients) {
    const m = c.advertise();
    add(c.site, jsonBytes(m));
    server.receiveAdvertise(m);
  }
  const roster = server.closeAdvertise();
  for (const c of clients) {
    add(c.site, jsonBytes(roster));
    const m = c.receiveRoster(roster);
    add(c.site, jsonBytes(m));
    server.receiveShares(m);
  }
  for (const r of server.closeShares()) {
    add(r.to, jsonBytes(r));
    clients.find((c) => c.site === r.to)!.receiveRelay(r);
  }
  const dropped = sites[n - 1]!;
  const uploads = new Map<string, Buffer>();
  let maskSec = 0;
  let quantSec = 0;
  const meanRef = new Float64Array(L);
  for (let k = 0; k < n; k++) {
    const c = clients[k]!;
    if (c.site === dropped) continue;
    const x = update(k);
    for (let i = 0; i < L; i++) meanRef[i] += Math.max(-CLIP, Math.min(CLIP, x[i]!));
    // Baseline: quantising alone, same chunking.
    const t0 = performance.now();
    const buf = new Uint32Array(session.chunkElements);
    for (let start = 0; start < L; start += session.chunkElements) quantizeInto(buf.subarray(0, Math.min(session.chunkElements, L - start)), x, start, session.quantization);
    quantSec += (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const out = Buffer.allocUnsafe(4 * L);
    let off = 0;
    for (const chunk of c.maskedChunks(fillFromFloats(x, session))) {
      out.set(chunk, off);
      off += chunk.length;
    }
    const done = c.maskedDone();
    maskSec += (performance.now() - t1) / 1000;
    add(c.site, 4 * L + jsonBytes(done));
    uploads.set(c.site, out);
    server.receiveMaskedDone(done);
  }
  const survivors = n - 1;
  const req = server.closeMasked();
  for (const c of clients) {
    if (c.site === dropped) continue;
    add(c.site, jsonBytes(req));
    const m = c.receiveUnmaskRequest(req);
    add(c.site, jsonBytes(m));
    server.receiveUnmask(m);
  }
  const t2 = performance.now();
  const res = await server.unmask((site, start, count) => uploads.get(site)!.subarray(start * 4, (start + count) * 4));
  const unmaskS = (performance.now() - t2) / 1000;

  // Baseline: the plain float sum of the same number of float32 updates (what FedAvg's server does).
  const plain = Array.from({ length: survivors }, (_, k) => new Float32Array(uploads.get(sites[k]!)!.buffer, uploads.get(sites[k]!)!.byteOffset, L));
  const acc = new Float64Array(L);
  const t3 = performance.now();
  for (const p of plain) for (let i = 0; i < L; i++) acc[i] += p[i]!;
  const plainSumS = (performance.now() - t3) / 1000;

  const deq = dequantize(res.sum, survivors, session.quantization);
  let maxErr = 0;
  let ss = 0;
  for (let i = 0; i < L; i++) {
    const m = meanRef[i]! / survivors;
    maxErr = Math.max(maxErr, Math.abs(deq[i]! / survivors - m));
    ss += m * m;
  }
  const bound = quantizationErrorBound(survivors, session.quantization) / survivors;
  const perSite = [...wire.entries()].filter(([s]) => s !== dropped).map(([, b]) => b);
  const wirePerSite = perSite.reduce((a, b) => a + b, 0) / perSite.length;
  const mb = (4 * L) / 1e6;
  return {
    n, threshold, bits,
    maskMBs: (mb * survivors) / maskSec,
    quantMBs: (mb * survivors) / quantSec,
    unmaskS, plainSumS, wirePerSite, ratio: wirePerSite / (4 * L), maxErr, bound, rms: Math.sqrt(ss / L),
  };
}

export const secaggBench: Bench = {
  name: 'secagg',
  description: 'secure aggregation: masking, unmasking, wire bytes and quantisation error, 3/10/20 sites, 10 MB model, one dropout; then round time and wire bytes with and without it in a study over gRPC (--runs=N, default 1)',
  async run(args) {
    const rows: Row[] = [];
    const load = loadavg()[0]!;
    console.log(`1-minute load average ${load.toFixed(2)} on ${availableParallelism()} cores before the run` +
      (load > availableParallelism() * 0.5 ? ' (other processes compete: throughputs are low, ratios to the same-run baselines still hold)' : ''));
    console.log('sites  T  bits  mask MB/s/site (quantise only)  unmask s (plain sum s)  wire bytes/site  ratio    max |err| (bound)   rms(mean)');
    for (const n of [3, 10, 20]) {
      const r = await runN(n);
      rows.push(r);
      console.log(
        `${String(r.n).padStart(5)} ${String(r.threshold).padStart(2)} ${String(r.bits).padStart(5)}  ` +
          `${r.maskMBs.toFixed(0).padStart(14)} (${r.quantMBs.toFixed(0).padStart(5)})          ` +
          `${r.unmaskS.toFixed(2).padStart(8)} (${r.plainSumS.toFixed(3)})       ${r.wirePerSite.toFixed(0).padStart(10)}  ${r.ratio.toFixed(5)}  ` +
          `${r.maxErr.toExponential(2)} (${r.bound.toExponential(2)})  ${r.rms.toExponential(2)}`,
      );
    }
    // The same sizes in a real study over gRPC: round time and wire bytes with and without it.
    const sizes = (process.env.FL_SECAGG_SIZES ?? '3,10,20').split(',').map(Number);
    await secaggRounds(sizes, runsOption(args, 1));
    const last = rows[rows.length - 1]!;
    console.log(
      `secagg: ${last.n} sites, 10 MB model, one dropout: masking ${last.maskMBs.toFixed(0)} MB/s per site, unmasking ${last.unmaskS.toFixed(2)} s ` +
        `(plain float sum ${last.plainSumS.toFixed(3)} s), wire bytes per site vs plain ratio ${last.ratio.toFixed(4)}, ` +
        `quantisation error ${last.maxErr.toExponential(2)} <= bound ${last.bound.toExponential(2)} (clip ${CLIP}, ${last.bits} bits)`,
    );
  },
};
