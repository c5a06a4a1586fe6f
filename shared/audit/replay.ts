// Recomputes each logged aggregate from the stored updates with the same strategy registry the
// coordinator uses (shared/strategies), in the logged summation order, and compares the digest
// with the one the coordinator logged. Every strategy replays: FedAvg, FedProx, FedAdam/FedYogi
// (their server moments are carried from round to round, starting from the strategy's initial
// state, exactly as the coordinator does), median, trimmed mean and norm bounding.
//
// Storage (coordinator data dir): updates at UPDATES/<model>/round-<r>/<update_id>.flt, global
// models at CHECKPOINTS/<model>/round-<v>.flt (v = version after v rounds). The base of round r
// is the version named in that round's round_started record (else r-1) and must have the logged
// global_digest_before. The strategy's configuration comes from the record (`strategy_config`),
// else from the study_config record, else the strategy's defaults.
//
// Secure aggregation (a `secure_aggregation` record for the model and round): the stored updates
// are masked; the replay re-derives the unmasked ring sum from them and the revealed seeds
// (shared/secagg replayUnmask, which checks each upload's and the sum's logged digest), then runs
// the strategy on the dequantised weighted mean exactly as the coordinator's wrapper does.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readTensorFileLayout, readTensorSetFile } from '../tensor/file.js';
import { specMismatch, tensorSetDigest } from '../tensor/tensor-set.js';
import { fileUpdateReader, type UpdateReader } from '../aggregate/reader.js';
import { createStrategy } from '../strategies/registry.js';
import type { StrategyState } from '../strategies/types.js';
import { memoryUpdateReader } from '../aggregate/reader.js';
import { dequantize, replayUnmask, Session } from '../secagg/index.js';
import { summationOrder, type AuditRecord } from './records.js';

type SecAggRecord = Extract<AuditRecord, { type: 'secure_aggregation' }>;

/** The dequantised example-weighted mean delta of a secure-aggregation round, from the spool and the log. */
async function secureMean(sa: SecAggRecord, dir: string, round: number, model: string): Promise<Float32Array> {
  const { study, sites, threshold, quantization, elements, chunkElements } = sa.session;
  const session = new Session({ study, round, sites, threshold, quantization, elements, chunkElements });
  const readers = new Map<string, UpdateReader>();
  try {
    for (const site of sa.survivors) {
      const id = sa.update_ids[site];
      if (!id) throw new Error(`secure_aggregation record names no upload of survivor ${site}`);
      const p = join(dir, model, `round-${round}`, `${id}.flt`);
      const layout = await readTensorFileLayout(p);
      readers.set(site, fileUpdateReader(p, layout.dataOffset, layout.length, { id, site, numExamples: 1 }));
    }
    const sum = await replayUnmask(session, {
      survivors: sa.survivors, dropped: sa.dropped, weightSum: sa.weight_sum as number, threshold: sa.session.threshold,
      uploadDigests: sa.upload_digests, aggregateSha256: sa.aggregate_sha256, revealed: sa.revealed, maskKeys: sa.mask_keys,
    }, async (site, start, count) => {
      const out = new Float32Array(count);
      await readers.get(site)!.read(start, out);
      return new Uint8Array(out.buffer);
    });
    const deq = dequantize(sum, sa.survivors.length, session.quantization);
    const mean = new Float32Array(deq.length);
    for (let i = 0; i < deq.length; i++) mean[i] = deq[i]! / (sa.weight_sum as number);
    return mean;
  } finally {
    for (const r of readers.values()) await r.close?.();
  }
}

export interface ReplayOptions {
  readonly updatesDir: string;
  readonly checkpointsDir: string;
}

export interface RoundReplay {
  readonly seq: number;
  readonly round: number;
  readonly model: string;
  readonly strategy: string;
  readonly updates: number;
  readonly status: 'ok' | 'mismatch' | 'skipped' | 'error';
  readonly message: string;
  readonly logged: string;
  readonly recomputed: string | null;
}

async function findCheckpoint(dir: string, model: string, version: number | undefined, digest: string): Promise<string | null> {
  const mdir = join(dir, model);
  const candidates: string[] = [];
  if (version !== undefined) candidates.push(join(mdir, `round-${version}.flt`));
  try {
    for (const n of (await readdir(mdir)).sort()) if (/^round-\d+\.flt$/.test(n)) candidates.push(join(mdir, n));
  } catch {
    return null;
  }
  for (const p of candidates) {
    try {
      if ((await readTensorFileLayout(p)).header.digest === digest) return p;
    } catch {
      // unreadable candidate: keep looking
    }
  }
  return null;
}

export async function replayAggregates(records: readonly AuditRecord[], opts: ReplayOptions): Promise<RoundReplay[]> {
  const out: RoundReplay[] = [];
  const studyConfig = records.find((r) => r.type === 'study_config');
  const studyStrategy = studyConfig && typeof studyConfig.strategy_config === 'object' ? studyConfig.strategy_config : null;
  /** Strategy state after the last replayed round of each model (null: a round could not be replayed). */
  const states = new Map<string, StrategyState | null>();
  for (const rec of records) {
    if (rec.type !== 'round_aggregated') continue;
    // An attempt voided by a later round_interrupted record (the coordinator stopped before the
    // round was saved; the round was run again) is not part of the history: skip it.
    if (records.some((r) => r.type === 'round_interrupted' && r.round === rec.round && r.seq > rec.seq)) continue;
    const order = summationOrder(rec);
    const base = { seq: rec.seq, round: rec.round, model: rec.model, strategy: rec.strategy, updates: order.length, logged: rec.aggregated_digest };
    const readers: UpdateReader[] = [];
    try {
      const sa = records.filter((r): r is SecAggRecord => r.type === 'secure_aggregation' && r.round === rec.round && r.model === rec.model && r.seq < rec.seq).at(-1);
      let config = rec.strategy_config ?? (studyStrategy && (studyStrategy as { name?: unknown }).name === rec.strategy ? studyStrategy : { name: rec.strategy });
      // Under secure aggregation norm bounding is site-side clipping; the server averaged.
      if (sa && (config as { name?: unknown }).name === 'norm_bounding') config = { name: 'fedavg' };
      const strategy = createStrategy(config);
      const prior = states.has(rec.model) ? states.get(rec.model)! : (strategy.initialState?.() ?? {});
      if (prior === null) throw new Error(`an earlier round of "${rec.model}" could not be replayed, so the ${rec.strategy} state for this round is unknown`);
      states.set(rec.model, null);
      const started = records.filter((r) => r.type === 'round_started' && r.round === rec.round && r.seq < rec.seq).at(-1);
      const version = started?.type === 'round_started' ? started.models[rec.model]?.version : rec.round - 1;
      const basePath = await findCheckpoint(opts.checkpointsDir, rec.model, version, rec.global_digest_before);
      if (!basePath) throw new Error(`no checkpoint in ${join(opts.checkpointsDir, rec.model)} has the logged starting digest ${rec.global_digest_before}`);
      const g = await readTensorSetFile(basePath);
      for (const a of order) {
        const p = join(opts.updatesDir, rec.model, `round-${rec.round}`, `${a.update_id}.flt`);
        const u = await readTensorSetFile(p); // verifies the content digest
        if (u.digest !== a.digest) throw new Error(`${p}: digest ${u.digest}, the log says ${a.digest}`);
        const mismatch = specMismatch(g.set.infos, u.set.infos);
        if (mismatch) throw new Error(`${p}: does not fit the model: ${mismatch}`);
        const layout = await readTensorFileLayout(p);
        readers.push(fileUpdateReader(p, layout.dataOffset, layout.length, { id: a.update_id, site: a.site, numExamples: a.num_examples }));
      }
      let inputs = readers;
      if (sa) {
        const mean = await secureMean(sa, opts.updatesDir, rec.round, rec.model);
        const survivors = new Set(sa.survivors);
        const examples = order.filter((a) => survivors.has(a.site)).reduce((t, a) => t + a.num_examples, 0);
        inputs = [memoryUpdateReader(mean, { id: `secagg-${rec.model}-r${rec.round}`, site: 'secure-aggregate', numExamples: Math.max(1, examples) })];
      }
      const result = await strategy.aggregateFit(g.set.data, inputs, prior, { round: rec.round, model: rec.model });
      states.set(rec.model, result.state);
      const digest = tensorSetDigest({ infos: g.set.infos, data: result.global });
      out.push({
        ...base, recomputed: digest,
        status: digest === rec.aggregated_digest ? 'ok' : 'mismatch',
        message: digest === rec.aggregated_digest
          ? `recomputed with ${strategy.name} from ${readers.length} ${sa ? 'masked update(s) unmasked with the revealed seeds' : 'update(s) in the logged order'}`
          : `recomputed digest ${digest} differs from the logged ${rec.aggregated_digest}`,
      });
    } catch (err) {
      out.push({ ...base, status: 'error', message: (err as Error).message, recomputed: null });
    } finally {
      for (const r of readers) await r.close?.();
    }
  }
  return out;
}
