// Attacks of issue 21 against real `fl coordinator` and `fl site` processes over mutual TLS, with
// hand-written gRPC clients: (1) a stalling party (8 upload streams that never send a header,
// with a valid and with a revoked certificate) does not stop the honest study; a site that uses
// another site's update id, or claims more examples than it declared, is refused and recorded.
// (2) A curious coordinator (real coordinator kit) asks an honest site for per-patient rows of
// its train and validation cohorts, sends a made-up freeze notice and an out-of-bounds training
// task: the site refuses each under its site.yaml policy and reports the refusal.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createStudyFixture, type StudyFixture } from './helpers/study-fixture.js';
import { waitFor } from './helpers/processes.js';
import {
  addFederationServices, buildEvaluateTask, buildFreezeNotice, buildTrainTask, connectFederation, modelConfigsFor, rawFederationClient,
  type CoordinatorMessage, type TaskStatus,
} from '../shared/protocol/index.js';
import { clientCredentials, serverCredentials } from '../shared/security/tls.js';
import { downloadModel, uploadUpdate } from '../site-agent/transfer.js';
import { familyOf } from '../shared/families/registry.js';
import { selectBackend } from '../shared/tfjs/backend.js';
import { bytesOf, tensorSetDigest } from '../shared/tensor/tensor-set.js';
import { chunkBytes } from '../shared/transport/chunks.js';

let fx: StudyFixture;
const kit = (p: string) => ({ ca: fx.pki(`${p}/ca.pem`), cert: fx.pki(`${p}/cert.pem`), key: fx.pki(`${p}/key.pem`) });

beforeAll(async () => {
  fx = await createStudyFixture({ sites: ['site-1', 'site-2'], extraParties: ['mallory', 'revoked'], casesPerSite: 32, study: 'atk' });
}, 120_000);
afterAll(() => {
  fx?.killAll();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

/** Opens an UploadUpdate stream that never sends anything; resolves with how it ended. */
function stall(address: string, creds: grpc.ChannelCredentials): Promise<grpc.ServiceError> {
  const raw = rawFederationClient(address, creds);
  return new Promise((resolve) => {
    const call = raw.uploadUpdate((err) => {
      resolve(err!);
      raw.close();
    });
    call.on('error', () => undefined);
  });
}

describe('a stalling party, a colliding update id and an inflated example count', () => {
  it('the honest study completes; the attacks are refused and recorded', async () => {
    const revokedFp = createHash('sha256').update(new X509Certificate(readFileSync(fx.pki('sites/revoked/cert.pem'))).raw).digest('hex');
    const revokedFile = join(fx.dir, 'revoked.txt');
    writeFileSync(revokedFile, `# revoked by the study team\n${revokedFp}\n`);
    const cfg = fx.coordinatorConfig(
      { sites: ['site-1', 'site-2', 'mallory'], min_sites: 2, rounds: 1, reconnect_grace_s: 0, round_deadline_s: 150 },
      undefined, undefined, { header_timeout_s: 3, revoked_fingerprints_file: revokedFile },
    );
    const { proc: coord, port } = await fx.startCoordinator(cfg);
    const address = `localhost:${port}`;
    // 8 silent streams with mallory's valid certificate and 8 with the revoked one, before anyone else.
    const stalls = [
      ...Array.from({ length: 8 }, () => stall(address, clientCredentials(kit('sites/mallory')))),
      ...Array.from({ length: 8 }, () => stall(address, clientCredentials(kit('sites/revoked')))),
    ];
    fx.startSite('site-1', port);
    fx.startSite('site-2', port);
    const ended = await Promise.all(stalls);
    const codes = ended.map((e) => e.code);
    expect(codes.slice(8)).toEqual(Array(8).fill(grpc.status.UNAUTHENTICATED));
    expect(ended[8]!.details).toMatch(/revoked/);
    // mallory: the streams within its quota (2 at a time) are cancelled after the header timeout,
    // the others refused at once (normally 2 and 6; a stream that reaches a loaded coordinator
    // after a slot was freed takes the slot and times out in its turn).
    const timedOut = codes.slice(0, 8).filter((c) => c === grpc.status.DEADLINE_EXCEEDED).length;
    const exhausted = codes.slice(0, 8).filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length;
    expect(timedOut + exhausted, JSON.stringify(ended.slice(0, 8).map((e) => [e.code, e.details]))).toBe(8);
    expect(timedOut).toBeGreaterThanOrEqual(2);
    expect(exhausted).toBeGreaterThanOrEqual(1);
    expect(ended.find((e) => e.code === grpc.status.DEADLINE_EXCEEDED)!.details).toMatch(/site "mallory": upload stream sent no upload header within 3 s/);

    // mallory joins (declaring 10 train cases) and, in round 1, tries another site's id and an inflated count.
    const client = connectFederation(address, clientCredentials(kit('sites/mallory')));
    const session = client.session();
    const task = new Promise<CoordinatorMessage & { type: 'train' }>((resolve) => {
      session.onMessage((m) => { if (m.type === 'train') resolve(m); }, () => undefined);
    });
    session.onError(() => undefined);
    session.send({ type: 'hello', studyId: 'atk', siteId: 'mallory', agentVersion: 'x', backend: 'x', cohortCounts: { train: 10 } });
    const t = await task;
    const ref = t.models[0]!;
    const g = await downloadModel(client, { studyId: 'atk', model: ref.model, version: ref.version, expectDigest: ref.digest });
    const header = { studyId: 'atk', siteId: 'mallory', model: ref.model, round: t.round, modelVersion: ref.version, metrics: {}, taskId: t.taskId, signature: '' };
    const delta = { infos: g.set.infos, data: new Float32Array(g.set.data.length).fill(0.01) };
    const collide = await uploadUpdate(client, { ...header, numExamples: 10, updateId: `site-1-${ref.model}-r1-00000000` }, delta).catch((e: grpc.ServiceError) => e);
    expect(collide).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/site "mallory": update_id "site-1-ddfn-r1-00000000" must start with "mallory-"/) });
    const inflated = await uploadUpdate(client, { ...header, numExamples: 1e12, updateId: `mallory-${ref.model}-r1-1` }, delta).catch((e: grpc.ServiceError) => e);
    expect(inflated).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/claims 1000000000000 training examples, more than the 10 train cases the site declared/) });
    // An upload abandoned after two chunks (header admitted, bytes spooled): kept for a resume
    // while the round is open, removed when it closes (checked at the end).
    const abandonedId = `mallory-${ref.model}-r1-2`;
    const bytes = bytesOf(delta.data);
    const up = client.uploadUpdate();
    up.write({ type: 'header', header: { ...header, numExamples: 10, updateId: abandonedId, digest: 'ee'.repeat(32), totalBytes: bytes.length, tensors: g.set.infos.map((x) => ({ name: x.name, shape: [...x.shape], dtype: x.dtype })), resumeOffset: 0 } });
    for (const offset of [0, 1024]) {
      const data = Buffer.from(bytes.subarray(offset, offset + 1024));
      up.write({ type: 'chunk', chunk: { offset, data, sha256: createHash('sha256').update(data).digest('hex') } });
    }
    const roundDir = join(fx.dir, 'coord', 'updates', 'ddfn', 'round-1');
    await waitFor(() => existsSync(roundDir) && readdirNames(roundDir).some((n) => n.startsWith(abandonedId) && n.endsWith('.partial')), 60_000, 'the abandoned upload to be spooled');
    up.cancel();
    session.cancel();
    client.close();
    // A staller that keeps 2 header-less streams open (its quota) until the study ends.
    let ending = false;
    const stallRounds: number[][] = [];
    const staller = (async () => {
      while (!ending) {
        const codes = (await Promise.all([0, 1].map(() => stall(address, clientCredentials(kit('sites/mallory')))))).map((e) => e.code);
        stallRounds.push(codes);
        if (codes.includes(grpc.status.UNAVAILABLE)) await new Promise((r) => setTimeout(r, 200)); // the coordinator has exited
      }
    })();

    const reportPath = join(fx.dir, 'coord', 'report.json');
    await waitFor(() => existsSync(reportPath) || coord.child.exitCode !== null, 240_000, 'the study report');
    await waitFor(() => existsSync(reportPath), 5_000, 'the study report');
    ending = true;
    await staller;
    expect(stallRounds.length).toBeGreaterThanOrEqual(1);
    expect(stallRounds.flat().every((c) => c === grpc.status.DEADLINE_EXCEEDED || c === grpc.status.RESOURCE_EXHAUSTED || c === grpc.status.UNAVAILABLE)).toBe(true);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report.state, coord.stderr.slice(-3000)).toBe('completed');
    const round = report.rounds[0];
    expect(round.models.ddfn.sites).toEqual(['site-1', 'site-2']);
    expect(Object.keys(round.models.ddfn.weights)).toEqual(['site-1', 'site-2']);
    expect(round.models.ddfn.weights['site-1'].weight + round.models.ddfn.weights['site-2'].weight).toBeCloseTo(1, 12);

    const log = readFileSync(join(fx.dir, 'coord', 'audit', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const rejected = log.filter((r) => r.type === 'update_rejected' && r.site === 'mallory').map((r) => r.reason);
    expect(rejected).toEqual(expect.arrayContaining([expect.stringMatching(/must start with "mallory-"/), expect.stringMatching(/claims 1000000000000/)]));
    const joinedA = log.find((r) => r.type === 'site_joined' && r.site === 'site-1')!;
    expect(joinedA).toMatchObject({ train_cases: expect.any(Number), certificate: expect.any(String), join_signature: expect.any(String) });
    expect(log.filter((r) => r.type === 'update_accepted').map((r) => r.site).sort()).toEqual(['site-1', 'site-2']);
    // No partial upload is left behind (the abandoned one was removed when the round closed).
    expect(readdirNames(roundDir).filter((n) => /\.(partial|blocks)$/.test(n))).toEqual([]);
  }, 400_000);
});

function readdirNames(dir: string): string[] {
  return readdirSync(dir);
}

describe('a curious coordinator', () => {
  it('gets refusals, not per-patient rows, a recorded fake freeze or an out-of-bounds training run', async () => {
    // A coordinator built from the real coordinator kit and protocol adapters: it serves the real
    // initial model, and records every prediction row, aggregate and update a site sends it.
    const statuses: TaskStatus[] = [];
    const got = { rows: 0, aggregates: 0, uploads: 0 };
    const entry = { name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8, 8], seed: 1 } };
    await selectBackend('cpu');
    const weights = await familyOf(entry).initialModel(entry);
    const bytes = bytesOf(weights.data);
    const models = modelConfigsFor([entry]);
    const ref = { studyId: 'atk', model: 'ddfn', round: 1, version: 1, digest: tensorSetDigest(weights) };
    const server = new grpc.Server();
    addFederationServices(server, {
      session(call) {
        call.onMessage((m) => {
          if (m.type === 'status') statuses.push(m);
          if (m.type !== 'hello') return;
          const deadlineUnixMs = Date.now() + 120_000;
          call.send({ type: 'welcome', studyId: 'atk', siteId: m.siteId, heartbeatIntervalMs: 15_000, currentRound: 1 });
          // Per-patient (pseudonym, label, score) rows of the train and validation cohorts.
          call.send(buildEvaluateTask({ taskId: 'peek', studyId: 'atk', round: 1, deadlineUnixMs, models: [{ ref, threshold: 0 }], cohorts: ['train', 'validation'], heldOut: false, privacy: 'predictions', modelConfigs: models }));
          // A made-up freeze notice (no proof), then a held-out evaluation that would rely on it.
          call.send(buildFreezeNotice({ studyId: 'atk', models: [{ ref, threshold: 0.05 }], logSeq: 999_999, recordHash: 'cd'.repeat(32) }));
          call.send(buildEvaluateTask({ taskId: 'heldout', studyId: 'atk', round: 1, deadlineUnixMs, models: [{ ref, threshold: 0.05 }], cohorts: ['test'], heldOut: true, privacy: 'aggregate', modelConfigs: models }));
          // Training outside the site's bounds.
          call.send(buildTrainTask({ taskId: 'hot', studyId: 'atk', round: 1, deadlineUnixMs, models: [ref], training: { epochs: 1, batchSize: 4096, learningRate: 1, seed: 1 }, strategyParams: {}, modelConfigs: models }));
          // Control: what the policy allows (aggregate counts of validation) is answered.
          call.send(buildEvaluateTask({ taskId: 'allowed', studyId: 'atk', round: 1, deadlineUnixMs, models: [{ ref, threshold: 0.5 }], cohorts: ['validation'], heldOut: false, privacy: 'aggregate', modelConfigs: models }));
        });
        call.onError(() => undefined);
      },
      async downloadModel(call) {
        call.send({ type: 'header', header: { ref, tensors: weights.infos, totalBytes: bytes.length } });
        for (const c of chunkBytes(bytes, 1 << 20, Number(call.request.offset))) call.send({ type: 'chunk', chunk: c });
        call.end();
      },
      async uploadUpdate(call, respond) {
        got.uploads++;
        for await (const part of call) void part;
        respond(null, { accepted: true, updateId: 'x', digest: '0'.repeat(64), message: 'taken' });
      },
      async submitEvaluation(call, respond) {
        for await (const batch of call) {
          got.rows += batch.predictions.length;
          if (batch.aggregateJson) got.aggregates++;
        }
        respond(null, { ok: true, message: 'taken' });
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', serverCredentials(kit('coordinator')), (e, p) => (e ? reject(e) : resolve(p))));
    const site = fx.startSite('site-1', port, {}, {
      policy: { privacy: ['aggregate'], per_case_cohorts: [], training: { learning_rate: { min: 0.00001, max: 0.01 }, epochs: { min: 1, max: 5 }, batch_size: { min: 1, max: 64 }, models: ['ddfn'] }, require_freeze_proof: true },
    });
    const answered = () => new Set(statuses.filter((s) => s.state === 'failed' || s.state === 'done').map((s) => s.taskId));
    try {
      await waitFor(() => ['peek', 'freeze-999999', 'heldout', 'hot', 'allowed'].every((t) => answered().has(t)) || site.child.exitCode !== null, 120_000, 'answers to all five messages')
        .catch((e: Error) => { throw new Error(`${e.message}; statuses ${JSON.stringify(statuses)}; site stderr:\n${site.stderr.slice(-4000)}`); });
      const refused = Object.fromEntries(statuses.filter((s) => s.state === 'failed').map((s) => [s.taskId, s.message]));
      expect(refused.peek).toMatch(/^refused by site policy: evaluation task peek: privacy mode "predictions" is not accepted \(policy.privacy: aggregate\)/);
      expect(refused['freeze-999999']).toMatch(/^refused by site policy: freeze notice \(log seq 999999\): no signed tree head and inclusion proof/);
      expect(refused.heldout).toMatch(/refusing held-out evaluation: model "ddfn" digest [0-9a-f]{16}\.\.\. was never frozen/);
      expect(refused.hot).toMatch(/^refused by site policy: training task hot: learning rate 1 is outside policy.training.learning_rate \[0.00001, 0.01\]/);
      expect(statuses.some((s) => s.state === 'done' && s.taskId === 'freeze-999999')).toBe(false);
      // The allowed task went through: the fake coordinator works, and got counts only.
      expect(statuses.find((s) => s.taskId === 'allowed' && s.state !== 'running'), site.stderr.slice(-3000)).toMatchObject({ state: 'done' });
      expect(got).toEqual({ rows: 0, aggregates: 1, uploads: 0 });
      expect(existsSync(join(fx.dir, 'work', 'site-1', 'frozen-models.jsonl')) ? readFileSync(join(fx.dir, 'work', 'site-1', 'frozen-models.jsonl'), 'utf8') : '').not.toMatch(/999999/);
      expect(site.stderr + site.stdout).toMatch(/refused a task under this site's policy/);
    } finally {
      site.child.kill('SIGKILL');
      server.forceShutdown();
    }
  }, 200_000);
});
