// Recomputes each logged FedAvg aggregate from the stored updates, in the logged arrival order,
// and compares the digest with the one the coordinator logged.
//
// Storage (coordinator data dir): updates at UPDATES/<model>/round-<r>/<update_id>.flt, global
// models at CHECKPOINTS/<model>/round-<v>.flt (v = version after v rounds). The base of round r
// is the version named in that round's round_started record (else r-1) and must have the logged
// global_digest_before. The arithmetic is the coordinator's own (shared/aggregate: float64
// accumulation of n_i * delta_i in arrival order, scaled by 1/sum n, added to the base, rounded
// to float32), so an honest log replays bit for bit.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readTensorFileLayout, readTensorSetFile } from '../tensor/file.js';
import { specMismatch, tensorSetDigest } from '../tensor/tensor-set.js';
import { fileUpdateReader, type UpdateReader } from '../aggregate/reader.js';
import { applyWeightedSum } from '../aggregate/weighted-sum.js';
import type { AuditRecord } from './records.js';

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

const REPLAYABLE = new Set(['fedavg']);

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
  for (const rec of records) {
    if (rec.type !== 'round_aggregated') continue;
    const base = { seq: rec.seq, round: rec.round, model: rec.model, strategy: rec.strategy, updates: rec.arrival_order.length, logged: rec.aggregated_digest };
    if (!REPLAYABLE.has(rec.strategy)) {
      out.push({ ...base, status: 'skipped', message: `strategy "${rec.strategy}" cannot be replayed (replayable: ${[...REPLAYABLE].join(', ')})`, recomputed: null });
      continue;
    }
    const readers: UpdateReader[] = [];
    try {
      const started = records.find((r) => r.type === 'round_started' && r.round === rec.round);
      const version = started?.type === 'round_started' ? started.models[rec.model]?.version : rec.round - 1;
      const basePath = await findCheckpoint(opts.checkpointsDir, rec.model, version, rec.global_digest_before);
      if (!basePath) throw new Error(`no checkpoint in ${join(opts.checkpointsDir, rec.model)} has the logged starting digest ${rec.global_digest_before}`);
      const g = await readTensorSetFile(basePath);
      const ws: number[] = [];
      for (const a of rec.arrival_order) {
        const p = join(opts.updatesDir, rec.model, `round-${rec.round}`, `${a.update_id}.flt`);
        const u = await readTensorSetFile(p); // verifies the content digest
        if (u.digest !== a.digest) throw new Error(`${p}: digest ${u.digest}, the log says ${a.digest}`);
        const mismatch = specMismatch(g.set.infos, u.set.infos);
        if (mismatch) throw new Error(`${p}: does not fit the model: ${mismatch}`);
        const layout = await readTensorFileLayout(p);
        readers.push(fileUpdateReader(p, layout.dataOffset, layout.length, { id: a.update_id, site: a.site, numExamples: a.num_examples }));
        ws.push(a.num_examples);
      }
      const total = ws.reduce((s, w) => s + w, 0);
      if (!(total > 0)) throw new Error('the arrival order has no examples');
      const next = await applyWeightedSum(g.set.data, readers, ws, 1 / total);
      const digest = tensorSetDigest({ infos: g.set.infos, data: next });
      out.push({
        ...base, recomputed: digest,
        status: digest === rec.aggregated_digest ? 'ok' : 'mismatch',
        message: digest === rec.aggregated_digest
          ? `recomputed from ${readers.length} update(s) in the logged order`
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
