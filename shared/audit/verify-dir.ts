// Verifies a study log directory (log.jsonl, heads.jsonl) and, optionally, its replicated copy
// on NATS JetStream, which must verify on its own and agree byte for byte with the file (it may
// lag behind while the coordinator catches the stream up; that is reported, not failed).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { loadPublicKey } from './keys.js';
import { readNatsCopy } from './nats-reader.js';
import { auditSubject, headsSubject } from '../events/subjects.js';
import { HEADS_FILE, LOG_FILE, PUBKEY_FILE } from './study-log.js';
import { splitLines, verifyStudyLog, type VerifyReport } from './verifier.js';

export interface NatsComparison {
  readonly url: string;
  readonly study: string;
  readonly report: VerifyReport;
  /** identical: same records and heads; behind: a strict prefix of the file; differs: anything else. */
  readonly agreement: 'identical' | 'behind' | 'differs';
  readonly message: string;
}

export interface DirVerification {
  readonly dir: string;
  readonly file: VerifyReport;
  readonly nats: NatsComparison | null;
  readonly ok: boolean;
}

async function readOrEmpty(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

export async function verifyLogDir(
  dir: string,
  opts: { publicKey?: KeyObject; nats?: { url: string; study: string }; ca?: X509Certificate } = {},
): Promise<DirVerification> {
  const publicKey = opts.publicKey ?? (await loadPublicKey(join(dir, PUBKEY_FILE)));
  const logPath = join(dir, LOG_FILE);
  const log = await readFile(logPath).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${logPath}: ${err.code === 'ENOENT' ? 'no such file (not a study log directory?)' : err.message}`);
  });
  const heads = await readOrEmpty(join(dir, HEADS_FILE));
  const file = verifyStudyLog({ log, heads, publicKey, ...(opts.ca ? { ca: opts.ca } : {}) });
  let nats: NatsComparison | null = null;
  if (opts.nats) {
    const copy = await readNatsCopy(opts.nats.url, opts.nats.study);
    const report = verifyStudyLog({ log: copy.log, heads: copy.heads, publicKey, ...(opts.ca ? { ca: opts.ca } : {}), logName: `nats:${auditSubject(opts.nats.study)}`, headsName: `nats:${headsSubject(opts.nats.study)}` });
    const cmp = (a: Buffer, b: Buffer) => {
      const la = splitLines(a).lines.map((l) => Buffer.from(l.bytes));
      const lb = splitLines(b).lines.map((l) => Buffer.from(l.bytes));
      if (la.length > lb.length) return { prefix: false, equal: false, at: lb.length };
      for (let i = 0; i < la.length; i++) if (!la[i]!.equals(lb[i]!)) return { prefix: false, equal: false, at: i };
      return { prefix: true, equal: la.length === lb.length, at: la.length };
    };
    const r = cmp(copy.log, log);
    const h = cmp(copy.heads, heads);
    let agreement: NatsComparison['agreement'];
    let message: string;
    if (copy.badMsgIds.length > 0) {
      agreement = 'differs';
      message = `stream messages ${copy.badMsgIds.slice(0, 5).join(', ')} carry a message id that does not match their content`;
    } else if (!r.prefix) {
      agreement = 'differs';
      message = `record seq ${r.at} on NATS differs from (or is missing in) the file`;
    } else if (!h.prefix) {
      agreement = 'differs';
      message = `head line ${h.at + 1} on NATS differs from (or is missing in) the file`;
    } else if (r.equal && h.equal) {
      agreement = 'identical';
      message = `${copy.records} records and ${copy.headLines} head lines, identical to the file`;
    } else {
      agreement = 'behind';
      message = `NATS holds ${copy.records}/${file.records} records and ${copy.headLines}/${file.heads} head lines: a prefix of the file (replication lagging)`;
    }
    nats = { url: opts.nats.url, study: opts.nats.study, report, agreement, message };
  }
  return { dir, file, nats, ok: file.ok && (nats === null || (nats.report.ok && nats.agreement !== 'differs')) };
}
