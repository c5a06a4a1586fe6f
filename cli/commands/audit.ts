// `fl audit`: the auditor's tools for a study log directory (log.jsonl, heads.jsonl, coordinator.pub).
//   fl audit verify DIR [--nats URL --study ID] [--pubkey PEM] [--ca CA.pem] [--strict] [--cosign-state DIR...] [--json]
//   fl audit show DIR [--json]
//   fl audit prove DIR --record N [--size S]
//   fl audit replay DIR --updates DIR [--checkpoints DIR] [--json]
// Exit codes: 0 intact, 1 verification failed (first bad record named), 2 usage errors,
// 3 warnings under --strict (torn line, unsigned records), 4 replay mismatch.
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { verifyLogDir, type DirVerification } from '../../shared/audit/verify-dir.js';
import { loadPublicKey } from '../../shared/audit/keys.js';
import { checkInclusionProof } from '../../shared/audit/proofs.js';
import { replayAggregates } from '../../shared/audit/replay.js';
import { summationOrder, type AuditRecord } from '../../shared/audit/records.js';
import type { VerifyReport } from '../../shared/audit/verifier.js';
import { auditSubject } from '../../shared/events/subjects.js';

async function loadCa(path: string): Promise<X509Certificate> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`--ca ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 2);
  }
  try {
    return new X509Certificate(text);
  } catch {
    throw new CliError(`--ca ${path}: not a PEM certificate (use the study CA, pki/ca/ca.pem from \`fl provision\`)`, 2);
  }
}

/** A site's own record of the last head it co-signed, compared with the log: a different root is a fork. */
async function checkCosignState(dirOrFile: string, f: VerifyReport): Promise<{ site: string; ok: boolean; message: string }> {
  const path = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, 'cosign-state.json');
  let state: { study?: unknown; site?: unknown; last?: { tree_size?: unknown; root_hash?: unknown } | null };
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as typeof state;
  } catch (err) {
    throw new CliError(`--cosign-state ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (give the site\'s work_dir)' : `not valid JSON: ${(err as Error).message}`}`, 2);
  }
  const site = typeof state.site === 'string' ? state.site : '?';
  if (state.study !== f.study) return { site, ok: false, message: `${path}: state is for study "${String(state.study)}", the log is "${f.study}"` };
  const last = state.last;
  if (!last) return { site, ok: true, message: `site ${site} has co-signed nothing yet` };
  const size = Number(last.tree_size);
  if (!Number.isInteger(size) || size < 1 || typeof last.root_hash !== 'string') return { site, ok: false, message: `${path}: malformed last head` };
  if (size > f.records) return { site, ok: false, message: `FORK: site ${site} co-signed a log of ${size} records; this log has ${f.records} (records were removed)` };
  const root = f.tree.root(size).toString('hex');
  if (root !== last.root_hash) return { site, ok: false, message: `FORK: site ${site} co-signed root ${last.root_hash.slice(0, 16)}… at size ${size}; this log has root ${root.slice(0, 16)}… there (the log shown to the auditor is not the one the site signed)` };
  return { site, ok: true, message: `site ${site}'s last co-signed head (size ${size}) matches the log` };
}

async function verifyOrThrow(dir: string, o: { pubkey?: string; nats?: string; study?: string; ca?: string }): Promise<DirVerification> {
  if ((o.nats === undefined) !== (o.study === undefined)) throw new CliError('--nats and --study go together', 2);
  const ca = o.ca ? await loadCa(o.ca) : undefined;
  try {
    return await verifyLogDir(dir, {
      ...(ca ? { ca } : {}),
      ...(o.pubkey ? { publicKey: await loadPublicKey(o.pubkey) } : {}),
      ...(o.nats && o.study ? { nats: { url: o.nats, study: o.study } } : {}),
    });
  } catch (err) {
    throw new CliError(`audit: ${(err as Error).message}`, 1, { cause: err });
  }
}

function failureText(r: VerifyReport, dir: string): string {
  const f = r.failure!;
  const file = f.file.startsWith('nats:') ? f.file : join(dir, f.file);
  return `${file} line ${f.line}${f.seq !== undefined ? ` (record seq ${f.seq})` : ''}: ${f.message}`;
}

function reportJson(r: VerifyReport) {
  return {
    ok: r.ok, study: r.study, records: r.records, heads: r.heads, signed_size: r.signedSize, root_hash: r.rootHash,
    latest_head: r.latestHead, cosignatures: r.cosignatures, uncosigned: r.uncosigned, torn_tail: r.tornTail, warnings: r.warnings, failure: r.failure,
  };
}

function summary(rec: AuditRecord): string {
  const d = (s: string) => `${s.slice(0, 12)}…`;
  switch (rec.type) {
    case 'study_config': return `study ${rec.study ?? '?'} config ${d(rec.digest)}`;
    case 'site_joined': return `${rec.site} joined (cert ${d(rec.cert_fingerprint)}${rec.public_key ? ', signing key announced' : ''})`;
    case 'round_started': return `round ${rec.round} started with ${rec.participants.join(', ')}; ${Object.entries(rec.models).map(([m, v]) => `${m}@v${v.version} ${d(v.digest)}`).join(', ')}`;
    case 'update_accepted': return `round ${rec.round} ${rec.model}: update ${rec.update_id} from ${rec.site} (${rec.num_examples} examples, ${d(rec.digest)}${rec.signature ? ', signed' : ', unsigned'})`;
    case 'update_rejected': return `round ${rec.round} ${rec.model}: update from ${rec.site} rejected: ${rec.reason}`;
    case 'round_aggregated': return `round ${rec.round} ${rec.model}: ${rec.strategy} over ${summationOrder(rec).map((a) => a.site).join(' → ')} = ${d(rec.aggregated_digest)}`;
    case 'site_dropped': return `${rec.site} dropped${rec.round !== undefined ? ` in round ${rec.round}` : ''}: ${rec.reason}`;
    case 'privacy_accounting': return `privacy ε=${rec.epsilon} δ=${rec.delta}${rec.site ? ` (${rec.site})` : ''}${rec.round !== undefined ? ` after round ${rec.round}` : ''}`;
    case 'secure_aggregation': return `round ${rec.round} ${rec.model}: secure aggregation T=${rec.session.threshold} of ${rec.session.sites.length}, sum of ${rec.survivors.join(', ')}${rec.dropped.length ? ` (dropped before upload: ${rec.dropped.join(', ')})` : ''} = ${d(rec.aggregate_sha256)}`;
    case 'models_frozen': return `frozen: ${rec.models.map((m) => `${m.model}${m.version !== undefined ? `@v${m.version}` : ''} ${d(m.digest)}${m.threshold !== undefined ? ` threshold ${m.threshold}` : ''}`).join(', ')}`;
    case 'evaluation_requested': return `evaluation requested${rec.cohorts ? ` on ${rec.cohorts.join(', ')}` : ''} for ${rec.models.map((m) => `${m.model} ${d(m.digest)}`).join(', ')}`;
    case 'evaluation_result': return `evaluation result from ${rec.site}${rec.cohort ?? rec.cohorts ? ` (${rec.cohort ?? rec.cohorts!.join(', ')})` : ''}: ${d(rec.results_digest)}`;
    case 'report': return `report ${d(rec.digest)}`;
    case 'admin_action': return `admin ${rec.admin} ${rec.action}${rec.cert_fingerprint ? ` (cert ${d(rec.cert_fingerprint)})` : ''}`;
    case 'task_refused': return `${rec.site} refused task ${rec.task_id}: ${rec.reason}`;
    case 'log_recovered': return `log recovered after a crash: torn ${rec.torn_bytes} bytes${rec.quarantined_to ? ` → ${rec.quarantined_to}` : ''}, ${rec.unsigned_records} unsigned record(s)`;
    case 'round_interrupted': return `round ${rec.round} interrupted: ${rec.reason}`;
    case 'study_stopped': return `study stopped by ${rec.by}${rec.resumable ? ' (resumes at the next start)' : ''}`;
    case 'study_resumed': return `study resumed at ${rec.phase} (from round ${rec.from_round})`;
  }
}

export function register(program: Command): void {
  const audit = program.command('audit').description('verify, inspect and prove entries of a tamper-evident study log');

  audit
    .command('verify <dir>')
    .description('recompute every hash, tree head and signature and check record order and freeze-before-evaluate (exit 0 when intact)')
    .option('--nats <url>', 'also verify the replicated copy on NATS JetStream and compare it with the file')
    .option('--study <id>', 'study id of the NATS stream (with --nats)')
    .option('--pubkey <pem>', "the coordinator's public key, obtained out of band (default DIR/coordinator.pub)")
    .option('--ca <pem>', 'the study CA certificate: every site key must come from a certificate it issued')
    .option('--strict', 'treat warnings (torn last line, records without a signed head, unsigned updates) as failures (exit 3), and fail (exit 1) unless every round is co-signed by every site aggregated in it')
    .option('--cosign-state <dirs...>', "sites' work_dir (or cosign-state.json): check the heads they co-signed against this log and report any fork")
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: { nats?: string; study?: string; pubkey?: string; strict?: boolean; json?: boolean; ca?: string; cosignState?: string[] }) => {
      const v = await verifyOrThrow(dir, o);
      const states = v.file.ok ? await Promise.all((o.cosignState ?? []).map((d) => checkCosignState(d, v.file))) : [];
      const warnings = [...v.file.warnings, ...(v.nats ? v.nats.report.warnings.map((w) => `nats: ${w}`) : [])];
      if (v.nats && v.nats.agreement === 'behind') warnings.push(`nats: ${v.nats.message}`);
      if (o.json) {
        process.stdout.write(JSON.stringify({
          ok: v.ok && !(o.strict && warnings.length > 0), dir: v.dir, file: reportJson(v.file),
          nats: v.nats ? { url: v.nats.url, study: v.nats.study, agreement: v.nats.agreement, message: v.nats.message, report: reportJson(v.nats.report) } : null,
        }, null, 2) + '\n');
      } else {
        const f = v.file;
        if (f.ok) {
          process.stdout.write(`${dir}: intact — ${f.records} records, ${f.heads} head lines, signed up to ${f.signedSize}, root ${f.rootHash}\n`);
          process.stdout.write(`  study ${f.study ?? '?'}; co-signed by ${[...new Set(f.cosignatures.map((c) => c.site))].join(', ') || 'no site'}\n`);
        }
        if (v.nats) process.stdout.write(`  NATS ${v.nats.url} ${auditSubject(v.nats.study)}: ${v.nats.report.ok ? 'verifies' : 'DOES NOT VERIFY'}; ${v.nats.message}\n`);
        for (const w of warnings) process.stdout.write(`  warning: ${w}\n`);
        for (const st of states) process.stdout.write(`  cosign-state: ${st.message}\n`);
        if (o.strict) for (const u of v.file.uncosigned) process.stdout.write(`  not co-signed: round ${u.round} by ${u.site} (no co-signature covers record ${u.last_seq})\n`);
      }
      if (!v.file.ok) throw new CliError(`audit verify FAILED: ${failureText(v.file, dir)}`, 1);
      const fork = states.find((st) => !st.ok);
      if (fork) throw new CliError(`audit verify FAILED: ${fork.message}`, 1);
      if (o.strict && v.file.uncosigned.length > 0) {
        const u = v.file.uncosigned[0]!;
        throw new CliError(`audit verify FAILED under --strict: ${v.file.uncosigned.length} round/site pair(s) not co-signed (first: round ${u.round} by site ${u.site}); a coordinator could have rewritten that history`, 1);
      }
      if (v.nats && !v.nats.report.ok) throw new CliError(`audit verify FAILED (NATS copy): ${failureText(v.nats.report, dir)}`, 1);
      if (v.nats && v.nats.agreement === 'differs') throw new CliError(`audit verify FAILED: the NATS copy differs from the file: ${v.nats.message}`, 1);
      if (o.strict && warnings.length > 0) throw new CliError(`audit verify: ${warnings.length} warning(s) under --strict`, 3);
    });

  audit
    .command('show <dir>')
    .description('print the study timeline')
    .option('--json', 'print the records as JSON lines')
    .action(async (dir: string, o: { json?: boolean }) => {
      const v = await verifyOrThrow(dir, {});
      const f = v.file;
      if (o.json) {
        for (const r of f.parsed) process.stdout.write(JSON.stringify(r) + '\n');
      } else {
        const heads = new Map<number, string[]>();
        // mark where signed heads and co-signatures fall
        if (f.latestHead) heads.set(f.latestHead.tree_size - 1, [...(heads.get(f.latestHead.tree_size - 1) ?? []), 'latest signed head']);
        for (const c of f.cosignatures) heads.set(c.tree_size - 1, [...(heads.get(c.tree_size - 1) ?? []), `co-signed by ${c.site}`]);
        for (const r of f.parsed) {
          const marks = heads.get(r.seq);
          process.stdout.write(`${String(r.seq).padStart(5)}  ${r.time}  ${r.type.padEnd(20)} ${summary(r)}${marks ? `   [${marks.join('; ')}]` : ''}\n`);
        }
        process.stdout.write(f.ok ? `-- ${f.records} records, intact\n` : `-- VERIFICATION FAILED: ${failureText(f, dir)}\n`);
        for (const w of f.warnings) process.stdout.write(`-- warning: ${w}\n`);
      }
      if (!f.ok) throw new CliError(`audit show: the log does not verify: ${failureText(f, dir)}`, 1);
    });

  audit
    .command('prove <dir>')
    .description('print an inclusion proof of one record in the latest signed tree head (RFC 6962)')
    .requiredOption('--record <n>', 'record sequence number')
    .option('--size <n>', 'tree size to prove against (default: the latest signed head)')
    .action(async (dir: string, o: { record: string; size?: string }) => {
      const seq = Number(o.record);
      if (!Number.isInteger(seq) || seq < 0) throw new CliError(`--record ${o.record}: expected a record sequence number`, 2);
      const v = await verifyOrThrow(dir, {});
      const f = v.file;
      if (!f.ok) throw new CliError(`audit prove: the log does not verify: ${failureText(f, dir)}`, 1);
      const size = o.size !== undefined ? Number(o.size) : f.signedSize;
      if (!Number.isInteger(size) || size < 1 || size > f.records) throw new CliError(`--size ${o.size ?? size}: expected 1..${f.records}`, 2);
      if (seq >= size) throw new CliError(`--record ${seq}: the tree of size ${size} has records 0..${size - 1}`, 2);
      const proof = {
        leaf_index: seq, tree_size: size, leaf_hash: f.leafHashes[seq]!, root_hash: f.tree.root(size).toString('hex'),
        audit_path: f.tree.inclusionProof(seq, size).map((h) => h.toString('hex')),
      };
      if (!checkInclusionProof(proof)) throw new CliError('audit prove: internal error: the proof does not verify', 1);
      const record = f.parsed[seq]!;
      const head = f.latestHead && f.latestHead.tree_size === size ? f.latestHead : null;
      process.stdout.write(JSON.stringify({ record, proof, signed_tree_head: head }, null, 2) + '\n');
    });

  audit
    .command('replay <dir>')
    .description("recompute each round's FedAvg aggregate from the stored updates in the logged arrival order and check the digest")
    .requiredOption('--updates <dir>', 'the coordinator\'s update store (UPDATES/<model>/round-<r>/<update_id>.flt)')
    .option('--checkpoints <dir>', 'global model checkpoints (CHECKPOINTS/<model>/round-<v>.flt; default: checkpoints/ beside --updates)')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: { updates: string; checkpoints?: string; json?: boolean }) => {
      const v = await verifyOrThrow(dir, {});
      if (!v.file.ok) throw new CliError(`audit replay: the log does not verify: ${failureText(v.file, dir)}`, 1);
      const checkpointsDir = o.checkpoints ?? join(dirname(resolve(o.updates)), 'checkpoints');
      const results = await replayAggregates(v.file.parsed, { updatesDir: o.updates, checkpointsDir });
      if (o.json) process.stdout.write(JSON.stringify({ ok: results.every((r) => r.status === 'ok' || r.status === 'skipped'), rounds: results }, null, 2) + '\n');
      else {
        for (const r of results) process.stdout.write(`round ${r.round} ${r.model} (seq ${r.seq}, ${r.strategy}): ${r.status.toUpperCase()} — ${r.message}\n`);
        if (results.length === 0) process.stdout.write('no round_aggregated records in the log\n');
      }
      const bad = results.filter((r) => r.status === 'mismatch' || r.status === 'error');
      if (bad.length > 0) throw new CliError(`audit replay: ${bad.length} aggregate(s) could not be reproduced (first: round ${bad[0]!.round} ${bad[0]!.model}, seq ${bad[0]!.seq}: ${bad[0]!.message})`, 4);
    });
}
