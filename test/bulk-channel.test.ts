// The bulk channel for upload bytes (issue 19) over REAL mutual TLS on loopback: a provisioned
// study kit, a real coordinator (startCoordinator) and real site agents with a deterministic fake
// trainer. (a) a round's updates come on the bulk channel and FedAvg is exact; (b) a bulk stream
// with another site's certificate, a wrong token or a used token is refused with a reason and
// nothing is spooled for it; (c) an unreachable bulk port: the sites fall back to the gRPC call;
// a malformed block or a chunk on the call after the bulk stream attached refuses the upload;
// (d) a bulk stream cut mid-upload resumes from the last verified block; (e) bulk_port "off" offers
// nothing, and an explicit bulk_port that is taken stops the start with an error naming it; (f) a
// model download on the bulk channel, cut mid-way, resumes from the last verified chunk.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { startCoordinator, type CoordinatorHandle, type StartOptions } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { provisionStudy, type ProvisionedKit } from '../shared/security/provision.js';
import { clientCredentials } from '../shared/security/tls.js';
import { connectFederation, type CoordinatorMessage, type FederationClient, type UploadStream } from '../shared/protocol/index.js';
import { openBulkStream, BulkConnectError, type BulkTlsMaterial } from '../shared/transport/bulk-connect.js';
import { writeBlocks } from '../shared/transport/bulk-wire.js';
import { MAX_CHUNK_BYTES } from '../shared/transport/chunks.js';
import { SiteAgent } from '../site-agent/agent.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import { partialState } from '../coordinator/update-receiver.js';
import { bytesOf, tensorSetDigest, type TensorSet } from '../shared/tensor/tensor-set.js';
import type { TrainRequest, TrainResult } from '../site-agent/trainer.js';
import { FlError } from '../shared/errors/index.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import { downloadModel } from '../site-agent/transfer.js';
import { startCapturingProxy } from './helpers/tcp-proxy.js';
import { expectResumedOnce, waitForBlocks } from './helpers/resume.js';
import { freePort } from './helpers/processes.js';

const STUDY = 'bulk';
const silent = pino({ level: 'silent' });
let root: string;
let kits: readonly ProvisionedKit[];
/** A kit of another study (its own CA). */
let foreign: readonly ProvisionedKit[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bulk-channel-'));
  kits = (await provisionStudy({ study: STUDY, sites: ['site-1', 'site-2'], admins: ['ops'], coordinatorHost: 'localhost', out: join(root, 'pki') })).kits;
  foreign = (await provisionStudy({ study: 'other', sites: ['site-1'], admins: ['ops'], coordinatorHost: 'localhost', out: join(root, 'pki-other') })).kits;
}, 120_000);
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
const clients: FederationClient[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.shutdown();
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  handle?.engine.stop();
  await handle?.close();
  handle = null;
});

const kitDir = (role: string, name: string, from = kits) => from.find((k) => k.role === role && k.name === name)!.dir;
const kitFiles = (role: string, name: string, from = kits) => {
  const d = kitDir(role, name, from);
  return { ca: join(d, 'ca.pem'), cert: join(d, 'cert.pem'), key: join(d, 'key.pem') };
};
const material = (site: string, from = kits): BulkTlsMaterial => {
  const f = kitFiles('site', site, from);
  return { ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) };
};

function config(dataDir: string, study: Record<string, unknown> = {}, coordinator: Record<string, unknown> = {}) {
  return coordinatorFileSchema.parse({
    study: {
      id: STUDY, rounds: 1, min_sites: 2, round_deadline_s: 60, join_timeout_s: 60, sites: ['site-1', 'site-2'],
      models: [{ name: 'm', architecture: 'fake' }], ...study,
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dataDir, tls: kitFiles('coordinator', 'localhost'), ...coordinator },
  });
}

interface LogRecord { msg?: string; site?: string; via?: string; round?: number; bytes?: number; resumeOffset?: number; reason?: string; bulk_port?: number | null }

/** A pino logger at `level` whose records are kept (and offered to `on`). */
function capture(level: string, on?: (r: LogRecord) => void): { log: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const log = pino({ level }, { write: (line: string) => {
    const r = JSON.parse(line) as LogRecord;
    records.push(r);
    on?.(r);
  } });
  return { log, records };
}

function agent(port: number, site: string, trainer: OffsetTrainer, agentLog: Logger = silent): SiteAgent {
  const a = new SiteAgent({
    studyId: STUDY, siteId: site, address: `localhost:${port}`, credentials: clientCredentials(kitFiles('site', site)),
    backoff: { initial_ms: 50, max_ms: 500 }, guard: new PrivacyGuard({ studyId: STUDY, siteId: site, log: silent }),
  }, trainer, agentLog);
  agents.push(a);
  return a;
}

/** Spooled uploads of `site` under `dataDir`: verified bytes per update (0 for a header without data). */
async function spooled(dataDir: string, site: string): Promise<number[]> {
  const out: number[] = [];
  for (const f of readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.partial'))) {
    const st = await partialState(join(dataDir, f.slice(0, -'.partial'.length)));
    if (!st || st.site === site) out.push(st?.bytes ?? 0);
  }
  return out;
}

const small: TensorSet = {
  infos: [{ name: 'w', shape: [4, 3], dtype: 'float32' }, { name: 'b', shape: [3], dtype: 'float32' }],
  data: Float32Array.from({ length: 15 }, (_, i) => i / 10),
};

/**
 * Both sites join by hand (sessions over mTLS), the study starts, and site-1 opens an upload call
 * for its round-1 update and writes its header; resolves once the coordinator's go-ahead arrived.
 */
async function handUpload(h: CoordinatorHandle, delta: TensorSet) {
  const sessions = (['site-1', 'site-2'] as const).map((site) => {
    const client = connectFederation(`localhost:${h.port}`, clientCredentials(kitFiles('site', site)));
    clients.push(client);
    const session = client.session();
    const task = new Promise<CoordinatorMessage & { type: 'train' }>((resolve) => session.onMessage((m) => { if (m.type === 'train') resolve(m); }, () => undefined));
    session.onError(() => undefined);
    session.send({ type: 'hello', studyId: STUDY, siteId: site, agentVersion: '0.1.0', backend: 'cpu', cohortCounts: { train: 10 } });
    return { client, session, task };
  });
  const until = Date.now() + 30_000;
  while (!(h.sites.isConnected('site-1') && h.sites.isConnected('site-2'))) {
    if (Date.now() > until) throw new Error('the sites did not join');
    await new Promise((r) => setTimeout(r, 20));
  }
  h.start();
  const t = await sessions[0]!.task;
  const ref = t.models[0]!;
  const bytes = Buffer.from(bytesOf(delta.data));
  const up: UploadStream = sessions[0]!.client.uploadUpdate();
  up.receipt.catch(() => undefined);
  up.write({ type: 'header', header: {
    studyId: STUDY, siteId: 'site-1', model: ref.model, round: t.round, modelVersion: ref.version, numExamples: 10, digest: tensorSetDigest(delta),
    tensors: delta.infos.map((x) => ({ ...x, shape: [...x.shape] })), totalBytes: bytes.length, updateId: 'site-1-m-r1-0001', metrics: {}, taskId: t.taskId, signature: '', resumeOffset: 0,
  } });
  const goAhead = await up.ready;
  return { up, goAhead, bytes, spool: h.engine.updatesDir(ref.model, t.round) };
}

describe('the bulk channel over mutual TLS', () => {
  it('(a) a round completes with both updates on the bulk channel, and FedAvg is exact', async () => {
    const dir = mkdtempSync(join(root, 'a-'));
    const coord = capture('debug');
    // No bulk_port: the default, any free port.
    handle = await startCoordinator(config(dir, { rounds: 2 }), { log: coord.log, initialModels: async () => new Map([['m', small]]) });
    const listening = coord.records.find((r) => r.msg === 'coordinator listening');
    expect(listening?.bulk_port).toBeGreaterThan(0);
    expect(listening?.bulk_port).not.toBe(handle.port);
    const runs = [agent(handle.port, 'site-1', new OffsetTrainer(1, 10)).run(), agent(handle.port, 'site-2', new OffsetTrainer(2, 30)).run()];
    const outcome = await handle.done;
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds.map((r) => r.state)).toEqual(['completed', 'completed']);
    // Each round adds the example-weighted mean offset (1*10 + 2*30) / 40 = 1.75.
    const final = handle.store.get('m');
    expect(final.version).toBe(2);
    for (let i = 0; i < 15; i++) expect(final.set.data[i]).toBeCloseTo(i / 10 + 3.5, 5);
    const received = coord.records.filter((r) => r.msg === 'update received').map((r) => `${r.site} r${r.round} ${r.bytes} ${r.via}`).sort();
    expect(received).toEqual(['site-1 r1 60 bulk', 'site-1 r2 60 bulk', 'site-2 r1 60 bulk', 'site-2 r2 60 bulk']);
    expect(await Promise.all(runs)).toEqual(['study completed', 'study completed']);
  });

  it('(b) another site\'s certificate, a wrong token and a used token are refused with a reason; nothing is spooled for them', async () => {
    const dir = mkdtempSync(join(root, 'b-'));
    const coord = capture('debug');
    handle = await startCoordinator(config(dir), { log: coord.log, autoStart: false, initialModels: async () => new Map([['m', small]]) });
    const delta: TensorSet = { infos: small.infos, data: Float32Array.from({ length: 15 }, (_, i) => i / 100) };
    const { up, goAhead, bytes, spool } = await handUpload(handle, delta);
    expect(goAhead.bulk).not.toBeNull();
    const { port, token } = goAhead.bulk!;
    expect(token.length).toBe(32);
    const open = (kit: BulkTlsMaterial, tok: Buffer) => openBulkStream(kit, 'localhost', port, tok, { timeoutMs: 20_000 });
    const refusal = (p: Promise<unknown>) => p.then(() => { throw new Error('the bulk stream was accepted'); }, (e: unknown) => {
      expect(e).toBeInstanceOf(BulkConnectError);
      return (e as Error).message;
    });

    // site-2's certificate with site-1's (valid, unused) token.
    expect(await refusal(open(material('site-2'), token))).toBe(`bulk channel localhost:${port}: refused: the bulk stream presents another certificate than the upload call`);
    // site-1's certificate with a token that was never granted.
    expect(await refusal(open(material('site-1'), randomBytes(32)))).toBe(`bulk channel localhost:${port}: refused: unknown or expired bulk token; send the update on its gRPC call`);
    // A certificate of another study's CA does not get through the TLS handshake.
    await refusal(open(material('site-1', foreign), token));
    // Nothing was spooled by those: the upload holds its header and no data.
    expect(await spooled(spool, 'site-1')).toEqual([0]);

    // The token still works for its own certificate, once.
    const sock = await open(material('site-1'), token);
    expect(await refusal(open(material('site-1'), token))).toBe(`bulk channel localhost:${port}: refused: unknown or expired bulk token; send the update on its gRPC call`);
    up.end();
    const data = Buffer.from(bytes);
    await writeBlocks(sock, [{ offset: 0, data, sha256: createHash('sha256').update(data).digest('hex') }][Symbol.iterator]());
    const receipt = await up.receipt;
    expect(receipt.accepted).toBe(true);
    expect(receipt.digest).toBe(tensorSetDigest(delta));
    expect(coord.records.filter((r) => r.msg === 'update received').map((r) => `${r.site} ${r.bytes} ${r.via}`)).toEqual(['site-1 60 bulk']);
    // Replayed after the upload finished: still refused.
    expect(await refusal(open(material('site-1'), token))).toMatch(/refused: unknown or expired bulk token/);
  });

  it('(b) a malformed block header on the bulk stream, or a chunk on the call after the bulk stream attached, refuses the upload with a reason', async () => {
    const dir = mkdtempSync(join(root, 'b2-'));
    handle = await startCoordinator(config(dir), { log: silent, autoStart: false, initialModels: async () => new Map([['m', small]]) });
    const { up, goAhead } = await handUpload(handle, small);
    const sock = await openBulkStream(material('site-1'), 'localhost', goAhead.bulk!.port, goAhead.bulk!.token, { timeoutMs: 20_000 });
    // A block header announcing 0 bytes.
    sock.write(Buffer.alloc(44));
    const err = await up.receipt.then(() => null, (e: { code: number; details: string }) => e);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toBe(`site "site-1": bulk block at offset 0 announces 0 bytes (must be 1 to ${MAX_CHUNK_BYTES})`);
    sock.destroy();
  });

  it('(b) a bulk connection that presents no token within the header timeout is closed with a reason', async () => {
    const dir = mkdtempSync(join(root, 'b4-'));
    handle = await startCoordinator(config(dir, {}, { header_timeout_s: 0.5 }), { log: silent, autoStart: false, initialModels: async () => new Map([['m', small]]) });
    const { goAhead } = await handUpload(handle, small);
    // A TLS connection with a study certificate that then says nothing.
    const { connect: tlsConnect } = await import('node:tls');
    const m = material('site-1');
    const sock = tlsConnect({ host: 'localhost', port: goAhead.bulk!.port, ca: m.ca, cert: m.cert, key: m.key, servername: 'localhost' });
    sock.on('error', () => undefined);
    let answer = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => void (answer = Buffer.concat([answer, d])));
    await new Promise<void>((r) => sock.once('close', () => r()));
    expect(answer[0]).toBe(0x00);
    expect(answer.subarray(1).toString('utf8')).toBe('no token within the header timeout');
  });

  it('(b) a chunk message on the upload call after its bytes went to the bulk channel refuses the upload', async () => {
    const dir = mkdtempSync(join(root, 'b3-'));
    handle = await startCoordinator(config(dir), { log: silent, autoStart: false, initialModels: async () => new Map([['m', small]]) });
    const { up, goAhead, bytes } = await handUpload(handle, small);
    const sock = await openBulkStream(material('site-1'), 'localhost', goAhead.bulk!.port, goAhead.bulk!.token, { timeoutMs: 20_000 });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    up.write({ type: 'chunk', chunk: { offset: 0, data: bytes, sha256: createHash('sha256').update(bytes).digest('hex') } });
    const err = await up.receipt.then(() => null, (e: { code: number; details: string }) => e);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toBe('site "site-1": a chunk message on the upload call after its bytes went to the bulk channel');
    // The bulk stream is ended with it.
    await closed;
    expect(await spooled(handle.engine.updatesDir('m', 1), 'site-1')).toEqual([]);
  });

  it('(c) an unreachable bulk port: the sites send on the gRPC call and the round completes', async () => {
    const dir = mkdtempSync(join(root, 'c-'));
    const coord = capture('debug');
    // The coordinator offers a port nobody listens on (as a firewall that refuses the connection would).
    const closed = await freePort();
    handle = await startCoordinator(config(dir, {}, { bulk_advertised_port: closed }), { log: coord.log, initialModels: async () => new Map([['m', small]]) });
    const fallbacks: LogRecord[] = [];
    const siteLog = (site: string) => capture('warn', (r) => { if (r.msg?.startsWith('the coordinator\'s bulk channel could not be opened')) fallbacks.push({ ...r, site }); }).log;
    void agent(handle.port, 'site-1', new OffsetTrainer(1, 10), siteLog('site-1')).run();
    void agent(handle.port, 'site-2', new OffsetTrainer(2, 30), siteLog('site-2')).run();
    const outcome = await handle.done;
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds[0]!.models.m!.sites).toEqual(['site-1', 'site-2']);
    for (let i = 0; i < 15; i++) expect(handle.store.get('m').set.data[i]).toBeCloseTo(i / 10 + 1.75, 5);
    expect(coord.records.filter((r) => r.msg === 'update received').map((r) => `${r.site} ${r.via}`).sort()).toEqual(['site-1 call', 'site-2 call']);
    expect(fallbacks.map((r) => r.site).sort()).toEqual(['site-1', 'site-2']);
    for (const r of fallbacks) expect(r.reason).toMatch(new RegExp(`^bulk channel localhost:${closed}: .*ECONNREFUSED`));
  });

  it('(d) a bulk stream cut mid-upload resumes from the last verified block; only the rest crosses again', async () => {
    const dir = mkdtempSync(join(root, 'd-'));
    const MiB = 1 << 20;
    const big: TensorSet = { infos: [{ name: 'w', shape: [4_000_000], dtype: 'float32' }], data: new Float32Array(4_000_000) };
    // The bulk port is known before the start, so a proxy can stand in front of it; the coordinator advertises the proxy.
    const bulkPort = await freePort();
    const proxy = await startCapturingProxy(bulkPort);
    let site1Received!: () => void;
    const site1Done = new Promise<void>((r) => (site1Received = r));
    const coord = capture('debug', (r) => { if (r.msg === 'update received' && r.site === 'site-1') site1Received(); });
    handle = await startCoordinator(config(dir, { round_deadline_s: 120 }, { bulk_port: bulkPort, bulk_advertised_port: proxy.port }), {
      log: coord.log, initialModels: async () => new Map([['m', big]]),
    } satisfies StartOptions);
    // site-2 trains only once site-1's update is in, so the proxy then carries site-2's bytes alone.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class GatedTrainer extends OffsetTrainer {
      override async train(req: TrainRequest): Promise<TrainResult> {
        await gate;
        return super.train(req);
      }
    }
    const resumed: number[] = [];
    const site2Cap = capture('info', (r) => { if (r.msg === 'resuming the upload' && typeof r.resumeOffset === 'number') resumed.push(r.resumeOffset); });
    const site2Log = site2Cap.log;
    void agent(handle.port, 'site-1', new OffsetTrainer(1, 10)).run();
    void agent(handle.port, 'site-2', new GatedTrainer(2, 10), site2Log).run();
    await site1Done;
    // Hold site-2's bulk traffic once 8 MiB of its 16 MB update crossed, wait until the coordinator
    // verified at least 6 blocks of it (it cannot verify more than was forwarded and verifies every
    // whole block it was given), then drop the bulk connection.
    const base = proxy.upstream().length;
    const stalled = proxy.stallAfter(8 * MiB);
    release();
    const forwarded = (await stalled) - base;
    const blocks = await waitForBlocks(dir, 'site-2', 6);
    proxy.cut();
    const upAtCut = proxy.upstream().length;
    const outcome = await handle.done;
    await proxy.close();
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds[0]!.models.m!.sites).toEqual(['site-1', 'site-2']);
    const update = big.data.byteLength;
    // After the cut only the rest crossed the proxy (TLS records and block headers add < 1 MiB).
    expectResumedOnce({ resumed, blocks, forwarded, update, after: proxy.upstream().length - upAtCut });
    // Every update, the resumed one included, came on the bulk channel.
    expect(coord.records.filter((r) => r.msg === 'update received').map((r) => `${r.site} ${r.bytes} ${r.via}`).sort()).toEqual([`site-1 ${update} bulk`, `site-2 ${update} bulk`]);
    for (const v of handle.store.get('m').set.data.subarray(0, 1000)) expect(v).toBeCloseTo(1.5, 5);
  });

  it('(e) bulk_port "off" offers no bulk channel in the go-ahead; the upload goes on the call', async () => {
    const dir = mkdtempSync(join(root, 'e-'));
    const coord = capture('debug');
    handle = await startCoordinator(config(dir, {}, { bulk_port: 'off' }), { log: coord.log, autoStart: false, initialModels: async () => new Map([['m', small]]) });
    expect(coord.records.find((r) => r.msg === 'coordinator listening')?.bulk_port).toBeNull();
    const { up, goAhead, bytes } = await handUpload(handle, small);
    expect(goAhead.bulk).toBeNull();
    up.write({ type: 'chunk', chunk: { offset: 0, data: bytes, sha256: createHash('sha256').update(bytes).digest('hex') } });
    up.end();
    expect((await up.receipt).accepted).toBe(true);
    expect(coord.records.filter((r) => r.msg === 'update received').map((r) => `${r.site} ${r.via}`)).toEqual(['site-1 call']);
  });

  it('(e) an explicit bulk_port that is taken stops the start with an error naming coordinator.bulk_port', async () => {
    const dir = mkdtempSync(join(root, 'e2-'));
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const err = await startCoordinator(config(dir, {}, { bulk_port: port }), { log: silent, initialModels: async () => new Map([['m', small]]) })
      .then((h) => { handle = h; return null; }, (e: unknown) => e);
    expect(err).toBeInstanceOf(FlError);
    expect((err as FlError).code).toBe('coordinator.bulk_port');
    expect((err as FlError).message).toBe(`coordinator.bulk_port 127.0.0.1:${port}: the port is in use (another coordinator running?); stop it or choose another port`);
  });

  it('(f) a model download comes on the bulk channel; cut mid-way it resumes from the last verified chunk', async () => {
    const dir = mkdtempSync(join(root, 'f-'));
    const MiB = 1 << 20;
    const n = 4_000_000; // 16 MB
    const model: TensorSet = { infos: [{ name: 'w', shape: [n], dtype: 'float32' }], data: Float32Array.from({ length: n }, (_, i) => (i % 997) / 997 - 0.5) };
    const bulkPort = await freePort();
    const proxy = await startCapturingProxy(bulkPort);
    handle = await startCoordinator(config(dir, {}, { bulk_port: bulkPort, bulk_advertised_port: proxy.port }), {
      log: silent, autoStart: false, initialModels: async () => new Map([['m', model]]),
    } satisfies StartOptions);
    const client = connectFederation(`localhost:${handle.port}`, clientCredentials(kitFiles('site', 'site-1')));
    clients.push(client);
    const expected = tensorSetDigest(model);
    // Whole: every byte of the model crossed the bulk proxy toward the site.
    const before0 = proxy.downstream().length;
    const whole = await downloadModel(client, { studyId: STUDY, model: 'm', version: 0, expectDigest: expected }, { onBulkFallback: (r) => { throw new Error(r); } });
    expect(whole.digest).toBe(expected);
    expect(proxy.downstream().length - before0).toBeGreaterThanOrEqual(model.data.byteLength);
    const before = proxy.downstream().length;
    // Cut the bulk stream once the site has verified 6 MiB (its progress callback): the download
    // asks again from the last whole chunk it verified, so only the rest crosses again.
    let cutAt = -1;
    const resumed = await downloadModel(client, { studyId: STUDY, model: 'm', version: 0, expectDigest: expected }, {
      retries: 3,
      onProgress: (received) => {
        if (cutAt < 0 && received >= 6 * MiB) {
          cutAt = proxy.downstream().length;
          proxy.cut();
        }
      },
    });
    expect(cutAt).toBeGreaterThan(0);
    expect(resumed.digest).toBe(expected);
    expect(Buffer.from(bytesOf(resumed.set.data)).equals(Buffer.from(bytesOf(model.data)))).toBe(true);
    // After the cut only what the site had not verified (it had at least 6 MiB) crossed again, not
    // the whole model; and every byte crossed at least once.
    const again = proxy.downstream().length - cutAt;
    expect(again).toBeLessThan(model.data.byteLength - 5 * MiB);
    expect(proxy.downstream().length - before).toBeGreaterThanOrEqual(model.data.byteLength);
    await proxy.close();
  });
});
