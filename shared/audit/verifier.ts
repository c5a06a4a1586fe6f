// The auditor's check of a study log, from its bytes alone plus the coordinator's public key.
//
// Record lines: each must be complete (newline-terminated), canonical JSON, valid against its
// schema, numbered 0, 1, 2, … in order, with non-decreasing time; update signatures must verify
// with the site's announced key; every aggregated arrival list must name accepted updates; no
// evaluation may name a model digest before a models_frozen record has committed to it.
// Head lines: every signed tree head must be signed by the coordinator key, cover no more
// records than exist, match the Merkle root recomputed over the first tree_size records, and
// never shrink; every co-signature must verify with the site's key and match the root too.
//
// The first problem is reported with the record it concerns (seq and line). A root mismatch
// localises the bad record to the batch between two heads (one record when heads are signed
// per append). A torn last line (a crash mid-write) is reported, not counted and not fatal:
// such a record was never acknowledged. Records after the last signed head are reported too.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { isCanonicalJson } from '../util/canonical-json.js';
import { MerkleTree, leafHash } from './merkle.js';
import { AuditRecordSchema, joinStatement, recordProblem, updateSignatureStatement, summationOrder, type AuditRecord } from './records.js';
import { HeadLineSchema, checkCosignature, checkTreeHeadSignature, type HeadLine, type SignedTreeHead } from './tree-head.js';
import { parsePublicKey, verifyBytes } from './keys.js';

export interface VerifyInput {
  /** Bytes of log.jsonl. */
  readonly log: Uint8Array;
  /** Bytes of heads.jsonl. */
  readonly heads: Uint8Array;
  /** The coordinator's public key (trusted out of band, e.g. coordinator.pub). */
  readonly publicKey: KeyObject;
  /** Names used in messages (defaults: log.jsonl, heads.jsonl). */
  readonly logName?: string;
  readonly headsName?: string;
  /** The study CA: every site key must come from a certificate it issued (site_joined.certificate). */
  readonly ca?: X509Certificate;
}

export interface VerifyFailure {
  readonly file: string;
  /** 1-based line number in `file`. */
  readonly line: number;
  /** The (first) record concerned, when the problem concerns records. */
  readonly seq?: number;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly study: string | null;
  /** Complete record lines. */
  readonly records: number;
  readonly heads: number;
  /** Largest tree size covered by a valid signed tree head. */
  readonly signedSize: number;
  readonly rootHash: string;
  readonly latestHead: SignedTreeHead | null;
  readonly cosignatures: { site: string; tree_size: number }[];
  /** Per completed round, the sites whose updates were aggregated but that co-signed no head covering the round. */
  readonly uncosigned: { round: number; site: string; last_seq: number }[];
  readonly tornTail: { line: number; bytes: number } | null;
  readonly warnings: string[];
  readonly failure: VerifyFailure | null;
  /** Parsed records (valid prefix) and their leaf hashes, for callers that go on (show, prove, replay). */
  readonly parsed: AuditRecord[];
  readonly leafHashes: string[];
  readonly tree: MerkleTree;
}

interface Line {
  readonly bytes: Uint8Array;
  readonly lineNo: number;
}

/** Splits on "\n"; a non-empty final segment without newline is a torn line. */
export function splitLines(buf: Uint8Array): { lines: Line[]; torn: Line | null } {
  const lines: Line[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      lines.push({ bytes: buf.subarray(start, i), lineNo: lines.length + 1 });
      start = i + 1;
    }
  }
  const torn = start < buf.length ? { bytes: buf.subarray(start), lineNo: lines.length + 1 } : null;
  return { lines, torn };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decodeLine(bytes: Uint8Array): { text: string } | { error: string } {
  try {
    return { text: decoder.decode(bytes) };
  } catch {
    return { error: 'is not valid UTF-8' };
  }
}

export function verifyStudyLog(input: VerifyInput): VerifyReport {
  const logName = input.logName ?? 'log.jsonl';
  const headsName = input.headsName ?? 'heads.jsonl';
  const warnings: string[] = [];
  const failures: { rank: number; f: VerifyFailure }[] = [];
  // rank orders failures: the earliest record concerned first, head-only problems after records.
  const fail = (rank: number, f: VerifyFailure) => failures.push({ rank, f });

  // --- heads (parsed first: they name the study, which update signatures cover) ---
  const headSplit = splitLines(input.heads);
  const headLines: { line: number; head: HeadLine }[] = [];
  for (const l of headSplit.lines) {
    const d = decodeLine(l.bytes);
    let problem: string | null = null;
    let value: unknown;
    if ('error' in d) problem = d.error;
    else {
      try {
        value = JSON.parse(d.text);
      } catch {
        problem = 'is not valid JSON';
      }
    }
    const parsed = problem === null ? HeadLineSchema.safeParse(value) : null;
    if (parsed && !parsed.success) problem = `${parsed.error.issues[0]!.path.join('.') || '(head)'}: ${parsed.error.issues[0]!.message}`;
    if (problem !== null || !parsed?.success) {
      fail(Number.MAX_SAFE_INTEGER - 1, { file: headsName, line: l.lineNo, message: `head line ${problem ?? 'is invalid'}` });
      break;
    }
    headLines.push({ line: l.lineNo, head: parsed.data });
  }
  if (headSplit.torn) {
    warnings.push(`${headsName}: torn last line ${headSplit.torn.lineNo} (${headSplit.torn.bytes.length} bytes, no newline) ignored: a crash while writing a head`);
  }
  let study: string | null = headLines[0]?.head.study ?? null;

  // --- records ---
  const { lines, torn } = splitLines(input.log);
  const tree = new MerkleTree();
  const leafHashes: string[] = [];
  for (const l of lines) {
    const h = leafHash(l.bytes);
    tree.append(h);
    leafHashes.push(h.toString('hex'));
  }
  let configSeq: number | null = null;
  const aggregated = new Map<string, number>();
  const parsed: AuditRecord[] = [];
  const siteKeys = new Map<string, KeyObject>();
  const declared = new Map<string, number>();
  const roundEnds = new Map<number, { lastSeq: number; sites: Set<string> }>();
  const accepted = new Map<string, AuditRecord & { type: 'update_accepted' }>();
  const frozen = new Map<string, number>();
  let lastRequested: { model: string; digest: string }[] | null = null;
  let prevTime = '';
  let unsignedUpdates = 0;
  const notJoined = new Set<string>();
  for (const l of lines) {
    const idx = l.lineNo - 1;
    const bad = (message: string, seq: number = idx) => {
      fail(idx, { file: logName, line: l.lineNo, seq, message });
    };
    const d = decodeLine(l.bytes);
    if ('error' in d) { bad(`record ${d.error}`); break; }
    let value: unknown;
    try {
      value = JSON.parse(d.text);
    } catch {
      bad('record is not valid JSON');
      break;
    }
    if (!isCanonicalJson(d.text)) { bad('record is not in canonical JSON form (keys sorted, no whitespace)'); break; }
    const problem = recordProblem(value);
    if (problem) { bad(`record does not match its schema: ${problem}`); break; }
    const rec = AuditRecordSchema.parse(value);
    if (rec.seq !== idx) {
      bad(`expected seq ${idx}, found seq ${rec.seq} (a record was ${rec.seq > idx ? 'deleted' : 'inserted or reordered'} here)`, rec.seq);
      break;
    }
    if (rec.time < prevTime) { bad(`time ${rec.time} is before the previous record's ${prevTime}`); break; }
    prevTime = rec.time;
    const check = semanticProblem(rec);
    if (check) { bad(check); break; }
    parsed.push(rec);
  }

    function semanticProblem(rec: AuditRecord): string | null {
    switch (rec.type) {
      case 'study_config':
        // One study, one configuration: a second study_config means history was started again.
        if (configSeq !== null) return `a second study_config record (the first is record ${configSeq}): the study's history was started again (a fork)`;
        configSeq = rec.seq;
        if (rec.study !== undefined) {
          if (study !== null && rec.study !== study) return `study_config names study "${rec.study}", the tree heads "${study}"`;
          study = rec.study;
        }
        return null;
      case 'site_joined': {
        let key: KeyObject | undefined;
        if (rec.certificate !== undefined) {
          const problem = certificateProblem(rec.site, rec.certificate, rec.cert_fingerprint, input.ca);
          if (typeof problem === 'string') return problem;
          key = problem;
        } else if (input.ca) {
          return `site "${rec.site}" joined without a certificate: its key is not certified by the study CA (a coordinator could have made it up)`;
        }
        if (rec.public_key !== undefined) {
          let announced: KeyObject;
          try {
            announced = parsePublicKey(rec.public_key, `public_key of site "${rec.site}"`);
          } catch (err) {
            return (err as Error).message;
          }
          if (key && !spki(key).equals(spki(announced))) return `site "${rec.site}": public_key is not the key of its certificate`;
          key ??= announced;
        }
        if (key) siteKeys.set(rec.site, key);
        if (rec.train_cases !== undefined) {
          if (rec.join_signature !== undefined) {
            if (!key || study === null) return `site "${rec.site}": join_signature cannot be checked (no site key or study name)`;
            if (!verifyBytes(key, joinStatement({ study, site: rec.site, train_cases: rec.train_cases }), rec.join_signature)) {
              return `site "${rec.site}": join_signature over train_cases ${rec.train_cases} does not verify with the site's key`;
            }
          }
          declared.set(rec.site, rec.train_cases);
        }
        notJoined.delete(rec.site);
        return null;
      }
      case 'update_accepted': {
        const key = `${rec.round}/${rec.model}/${rec.update_id}`;
        if (accepted.has(key)) return `update ${rec.update_id} of model "${rec.model}" round ${rec.round} accepted twice`;
        accepted.set(key, rec);
        const bound = declared.get(rec.site);
        if (bound !== undefined && rec.num_examples > bound) {
          return `update ${rec.update_id} of site "${rec.site}" claims ${rec.num_examples} examples, more than the ${bound} train cases the site declared when it joined`;
        }
        if (!parsed.some((p) => p.type === 'site_joined' && p.site === rec.site)) notJoined.add(rec.site);
        if (rec.signature === null) {
          unsignedUpdates++;
          return null;
        }
        let pub: KeyObject | undefined;
        try {
          pub = rec.site_public_key !== undefined ? parsePublicKey(rec.site_public_key, 'site_public_key') : siteKeys.get(rec.site);
          if (input.ca && rec.site_public_key !== undefined) {
            const certified = siteKeys.get(rec.site);
            if (!certified || !pub || !spki(certified).equals(spki(pub))) return `update ${rec.update_id}: site_public_key is not the certified key of site "${rec.site}"`;
          }
        } catch (err) {
          return (err as Error).message;
        }
        if (!pub) return `update ${rec.update_id} is signed but no public key is known for site "${rec.site}"`;
        if (study === null) return `update ${rec.update_id} is signed but no signed tree head names the study`;
        const stmt = updateSignatureStatement({ study, ...rec });
        if (!verifyBytes(pub, stmt, rec.signature)) return `site "${rec.site}"'s signature over update ${rec.update_id} (digest ${rec.digest.slice(0, 12)}…) does not verify`;
        return null;
      }
      case 'round_interrupted':
        // The attempt's aggregates (if any) are void: its re-run is not a fork.
        for (const k of [...aggregated.keys()]) if (k.startsWith(`${rec.round}/`)) aggregated.delete(k);
        return null;
      case 'round_aggregated': {
        const prior = aggregated.get(`${rec.round}/${rec.model}`);
        if (prior !== undefined) return `a second completed aggregate of model "${rec.model}" for round ${rec.round} (the first is record ${prior}) without a round_interrupted record between them: the history forks`;
        aggregated.set(`${rec.round}/${rec.model}`, rec.seq);
        const seen = new Set<string>();
        const field = rec.summation_order ? 'summation_order' : 'arrival_order';
        for (const [i, a] of summationOrder(rec).entries()) {
          const u = accepted.get(`${rec.round}/${rec.model}/${a.update_id}`);
          if (!u) return `${field}[${i}]: update ${a.update_id} was never accepted for model "${rec.model}" round ${rec.round}`;
          if (u.site !== a.site || u.digest !== a.digest || u.num_examples !== a.num_examples) {
            return `${field}[${i}]: update ${a.update_id} differs from its update_accepted record (seq ${u.seq})`;
          }
          if (seen.has(a.update_id)) return `${field}[${i}]: update ${a.update_id} listed twice`;
          seen.add(a.update_id);
        }
        const end = roundEnds.get(rec.round) ?? { lastSeq: rec.seq, sites: new Set<string>() };
        end.lastSeq = Math.max(end.lastSeq, rec.seq);
        for (const a of summationOrder(rec)) end.sites.add(a.site);
        roundEnds.set(rec.round, end);
        return null;
      }
      case 'models_frozen':
        for (const m of rec.models) if (!frozen.has(m.digest)) frozen.set(m.digest, rec.seq);
        return null;
      case 'evaluation_requested':
        lastRequested = rec.models;
        return unfrozen(rec.models, 'evaluation requested');
      case 'evaluation_result': {
        const models = rec.models ?? lastRequested;
        if (!models) return `evaluation result from site "${rec.site}" names no model and no evaluation was requested before it`;
        return unfrozen(models, `evaluation result from site "${rec.site}"`);
      }
      case 'log_recovered':
        warnings.push(`record ${rec.seq}: the log recovered from a crash (${rec.torn_bytes > 0 ? `torn line of ${rec.torn_bytes} bytes kept in ${rec.quarantined_to ?? '?'}` : 'no torn line'}; ${rec.unsigned_records} record(s) had no signed tree head)`);
        return null;
      default:
        return null;
    }
  }

  function unfrozen(models: readonly { model: string; digest: string }[], what: string): string | null {
    for (const m of models) {
      if (!frozen.has(m.digest)) return `freeze-before-evaluate violated: ${what} for model "${m.model}" digest ${m.digest.slice(0, 12)}… before any models_frozen record commits to it`;
    }
    return null;
  }

  const n = lines.length;
  const tornTail = torn ? { line: torn.lineNo, bytes: torn.bytes.length } : null;
  if (tornTail) {
    warnings.push(`${logName}: torn last line ${tornTail.line} (${tornTail.bytes} bytes, no newline): an append interrupted by a crash, never acknowledged; not counted`);
  }

  // --- heads against records ---
  let signedSize = 0;
  let latestHead: SignedTreeHead | null = null;
  let prevHead: SignedTreeHead | null = null;
  const cosignatures: { site: string; tree_size: number }[] = [];
  const joined = (site: string): KeyObject | undefined => {
    if (siteKeys.has(site)) return siteKeys.get(site);
    return undefined;
  };
  for (const { line, head } of headLines) {
    const headFail = (message: string, rank = Number.MAX_SAFE_INTEGER - 1, seq?: number) =>
      fail(rank, { file: headsName, line, ...(seq !== undefined ? { seq } : {}), message });
    if (head.study !== study) { headFail(`head names study "${head.study}", the first head names "${study}"`); break; }
    if (head.tree_size > n) {
      headFail(
        `${head.kind === 'sth' ? 'signed tree head' : 'co-signature'} covers ${head.tree_size} records but ${logName} has ${n}: records ${n}..${head.tree_size - 1} were deleted or truncated`,
        n, n,
      );
      break;
    }
    const root = tree.root(head.tree_size).toString('hex');
    if (head.kind === 'sth') {
      const sig = checkTreeHeadSignature(input.publicKey, head);
      if (sig) { headFail(`signed tree head (tree_size ${head.tree_size}) ${sig}`); break; }
      if (prevHead && (head.tree_size < prevHead.tree_size || head.timestamp < prevHead.timestamp)) {
        headFail(`signed tree head (tree_size ${head.tree_size}) goes back from the previous head (tree_size ${prevHead.tree_size})`);
        break;
      }
      if (root !== head.root_hash) {
        const from = prevHead?.tree_size ?? 0;
        const to = head.tree_size - 1;
        const where = from === to ? `record seq ${from}` : `one of records seq ${from}..${to}`;
        headFail(`Merkle root over the first ${head.tree_size} records does not match the signed tree head: ${where} was altered`, from, from);
        break;
      }
      const last = parsed[head.tree_size - 1];
      if (last && Date.parse(last.time) > head.timestamp) {
        headFail(`signed tree head at ${new Date(head.timestamp).toISOString()} is older than record ${last.seq} (${last.time}) it covers`);
        break;
      }
      prevHead = head;
      latestHead = head;
      signedSize = head.tree_size;
    } else {
      const pub = joined(head.site);
      if (!pub) { headFail(`co-signature by site "${head.site}", which announced no public key in a site_joined record`); break; }
      const sig = checkCosignature(pub, head);
      if (sig) { headFail(sig); break; }
      if (root !== head.root_hash) { headFail(`co-signature by site "${head.site}" is for a root that differs from the log's first ${head.tree_size} records`); break; }
      cosignatures.push({ site: head.site, tree_size: head.tree_size });
    }
  }

  // Which participant co-signed no head covering the end of each aggregated round (--strict fails on it).
  const uncosigned: { round: number; site: string; last_seq: number }[] = [];
  for (const [round, end] of [...roundEnds].sort((a, b) => a[0] - b[0])) {
    for (const site of [...end.sites].sort()) {
      if (!cosignatures.some((c) => c.site === site && c.tree_size > end.lastSeq)) uncosigned.push({ round, site, last_seq: end.lastSeq });
    }
  }

  failures.sort((a, b) => a.rank - b.rank);
  const failure = failures[0]?.f ?? null;
  if (!failure) {
    if (n > 0 && signedSize === 0) warnings.push(`no signed tree head covers any record: the ${n} record(s) are unsigned`);
    else if (n > signedSize) warnings.push(`records ${signedSize}..${n - 1} are not covered by a signed tree head yet (a crash between writing them and signing?)`);
    if (unsignedUpdates > 0) warnings.push(`${unsignedUpdates} accepted update(s) carry no site signature`);
    if (notJoined.size > 0) warnings.push(`updates accepted from site(s) with no site_joined record: ${[...notJoined].join(', ')}`);
  }
  return {
    ok: failure === null, study, records: n, heads: headLines.length, signedSize,
    rootHash: tree.root().toString('hex'), latestHead, cosignatures, uncosigned, tornTail, warnings, failure, parsed, leafHashes, tree,
  };
}

function spki(k: KeyObject): Buffer {
  return k.export({ type: 'spki', format: 'der' });
}

/** The certified key of a site_joined certificate, or what is wrong with it. */
function certificateProblem(site: string, b64: string, fingerprint: string, ca: X509Certificate | undefined): KeyObject | string {
  let cert: X509Certificate;
  const der = Buffer.from(b64, 'base64');
  try {
    cert = new X509Certificate(der);
  } catch {
    return `site "${site}": certificate in site_joined cannot be parsed`;
  }
  if (createHash('sha256').update(der).digest('hex') !== fingerprint) return `site "${site}": cert_fingerprint is not the SHA-256 of the certificate`;
  const uris = (cert.subjectAltName ?? '').split(/,\s*/).filter((x) => x.startsWith('URI:fl://')).map((x) => x.slice(4));
  if (uris.length !== 1 || uris[0] !== `fl://site/${site}`) return `site "${site}": the certificate names ${uris.join(', ') || 'no party'}, not fl://site/${site}`;
  if (ca) {
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return `site "${site}": the certificate was not issued by the study CA (${ca.subject.replace(/\n/g, ', ')}): its key is not certified`;
  }
  return cert.publicKey;
}
