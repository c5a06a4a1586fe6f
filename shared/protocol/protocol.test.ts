// The protocol boundary: every message survives encode → decode unchanged (directly and through real
// gRPC serialization on loopback), and a malformed JSON field or map is refused on receipt (and on
// sending) with an error naming the party and the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import {
  addFederationServices, buildEvaluateTask, buildTrainTask, connectFederation, modelConfigsFor, rawFederationClient, ProtocolError,
  type CoordinatorMessage, type SiteMessage, type SiteSessionCall, type WireCoordinatorMessage, type WireSiteMessage,
} from './index.js';
import { decodeCoordinatorMessage, decodeEvaluationReport, decodeSiteMessage, encodeCoordinatorMessage, encodeSiteMessage } from './convert.js';

const head = { kind: 'sth' as const, study: 's', tree_size: 3, root_hash: 'a'.repeat(64), timestamp: 1, key_id: 'e'.repeat(64), signature: 'c2ln' };
const modelConfigs = modelConfigsFor([{ name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8] } }, { name: 'm2', config: {} }]);
const ref = { studyId: 's', model: 'ddfn', round: 2, version: 2, digest: 'f'.repeat(64) };
const train = buildTrainTask({
  taskId: 'r2-x', studyId: 's', round: 2, deadlineUnixMs: 1_700_000_000_000, models: [ref],
  training: { epochs: 1, batchSize: 8, learningRate: 0.002, seed: 5 }, strategyParams: { proximal_mu: 0.01, dp_clip: 1, dp_noise_multiplier: 0.5 }, modelConfigs,
});
const evaluate = buildEvaluateTask({ taskId: 'eval-1', studyId: 's', round: 3, deadlineUnixMs: 5, models: [{ ref, threshold: 0.42 }], cohorts: ['test'], heldOut: true, privacy: 'aggregate', modelConfigs });

const coordinatorMessages: CoordinatorMessage[] = [
  { type: 'welcome', studyId: 's', siteId: 'a', heartbeatIntervalMs: 15000, currentRound: 2 },
  train, evaluate,
  { type: 'stop', reason: 'study completed' },
  { type: 'freeze', studyId: 's', models: [{ ref, threshold: 0.3 }], logSeq: 9, recordHash: 'b'.repeat(64), proofJson: '{"record":"{}"}' },
  { type: 'freeze', studyId: 's', models: [{ ref, threshold: 0.3 }], logSeq: 9, recordHash: 'b'.repeat(64) },
  { type: 'cosign', head, proof: { first_size: 1, second_size: 3, first_root: 'c'.repeat(64), second_root: 'a'.repeat(64), path: ['d'.repeat(64)] }, coordinatorPublicKey: 'PEM' },
  { type: 'cosign', head, proof: null, coordinatorPublicKey: 'PEM' },
];
const siteMessages: SiteMessage[] = [
  { type: 'hello', studyId: 's', siteId: 'a', agentVersion: '0.1.0', backend: 'wasm', cohortCounts: { train: 10, test: 4 }, joinSignature: 'c2lnbmVk' },
  { type: 'hello', studyId: 's', siteId: 'a', agentVersion: '0.1.0', backend: 'wasm', cohortCounts: {} },
  { type: 'heartbeat', timeUnixMs: 123 },
  { type: 'status', taskId: 't', state: 'running', message: 'training', progress: 0.5, metrics: { train_loss: 0.7, val_auc: Number.NaN } },
  { type: 'cosignature', head, signature: 'c2ln', error: '', lastSize: 3 },
  { type: 'cosignature', head: null, signature: '', error: 'refused', lastSize: 0 },
];

describe('encode → decode', () => {
  it('gives back every coordinator and site message unchanged', () => {
    for (const m of coordinatorMessages) expect(decodeCoordinatorMessage(encodeCoordinatorMessage(m), 'the coordinator')).toEqual(m);
    for (const m of siteMessages) expect(decodeSiteMessage(encodeSiteMessage(m), 'site "a"')).toEqual(m);
  });

  it('puts JSON fields on the wire as JSON', () => {
    const w = encodeCoordinatorMessage(train);
    expect(w.msg?.$case === 'task' && w.msg.value.kind?.$case === 'train' && JSON.parse(w.msg.value.kind.value.modelConfigJson))
      .toEqual({ ddfn: { architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8] } }, m2: { architecture: 'm2', config: {} } });
  });
});

/** A wire train task with some fields replaced. */
function wireTrain(patch: { modelConfigJson?: string; strategyParams?: Record<string, number> }): WireCoordinatorMessage {
  const w = encodeCoordinatorMessage(train);
  if (w.msg?.$case !== 'task' || w.msg.value.kind?.$case !== 'train') throw new Error('unexpected');
  return { msg: { $case: 'task', value: { ...w.msg.value, kind: { $case: 'train', value: { ...w.msg.value.kind.value, ...patch } } } } };
}

function refusal(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('the site refuses what the coordinator should not send, naming the field', () => {
  const party = 'the coordinator at x:1';
  it('model config JSON that is not JSON or not a config', () => {
    const notJson = refusal(() => decodeCoordinatorMessage(wireTrain({ modelConfigJson: '{"ddfn":' }), party));
    expect(notJson.message).toBe('the coordinator at x:1: field "task r2-x: train.model_config_json" is not JSON');
    expect(notJson.taskId).toBe('r2-x');
    const noArch = refusal(() => decodeCoordinatorMessage(wireTrain({ modelConfigJson: '{"ddfn":{"config":{}}}' }), party));
    expect(noArch.message).toMatch(/^the coordinator at x:1: field "task r2-x: train\.model_config_json\.ddfn\.architecture": /);
    expect(refusal(() => decodeCoordinatorMessage(wireTrain({ modelConfigJson: '' }), party)).message).toMatch(/model_config_json" is not JSON/);
  });

  it('strategy parameters out of range or not finite', () => {
    expect(refusal(() => decodeCoordinatorMessage(wireTrain({ strategyParams: { proximal_mu: -1 } }), party)).message)
      .toMatch(/field "task r2-x: train\.strategy_params\.proximal_mu": proximal_mu must be >= 0/);
    expect(refusal(() => decodeCoordinatorMessage(wireTrain({ strategyParams: { mu: Number.NaN } }), party)).message).toMatch(/strategy_params\.mu": .*NaN/);
    expect(refusal(() => decodeCoordinatorMessage(wireTrain({ strategyParams: { dp_clip: 1 } }), party)).message).toMatch(/dp_clip and dp_noise_multiplier come together/);
  });

  it('a task without a kind, an empty message, an unknown privacy mode, a bad tree head', () => {
    expect(refusal(() => decodeCoordinatorMessage({ msg: { $case: 'task', value: { taskId: 't9', studyId: 's', round: 1, deadlineUnixMs: 0 } } }, party)))
      .toMatchObject({ message: 'the coordinator at x:1: task t9 has no kind (train or evaluate)', taskId: 't9' });
    expect(refusal(() => decodeCoordinatorMessage({}, party)).message).toBe('the coordinator at x:1: empty session message');
    const ev = encodeCoordinatorMessage(evaluate);
    if (ev.msg?.$case !== 'task' || ev.msg.value.kind?.$case !== 'evaluate') throw new Error('unexpected');
    const bad = { msg: { $case: 'task' as const, value: { ...ev.msg.value, kind: { $case: 'evaluate' as const, value: { ...ev.msg.value.kind.value, privacy: 'everything' } } } } };
    expect(refusal(() => decodeCoordinatorMessage(bad, party)).message).toMatch(/evaluate\.privacy": "everything" is neither/);
    expect(refusal(() => decodeCoordinatorMessage({ msg: { $case: 'cosign', value: { headJson: '{"kind":"sth"}', proofJson: '', coordinatorPublicKey: '' } } }, party)).message)
      .toMatch(/^the coordinator at x:1: field "cosign\.head_json\.study": /);
  });

  it('the coordinator refuses to build such tasks in the first place', () => {
    expect(() => buildTrainTask({ ...train, training: train, strategyParams: { dp_clip: 0 } })).toThrow(/the coordinator, task r2-x: field "strategy_params\.dp_clip": dp_clip must be > 0/);
    expect(() => modelConfigsFor([{ name: 'bad name', config: {} }])).toThrow(/field "model_config_json\.bad name"/);
  });
});

describe('the coordinator refuses what a site should not send', () => {
  it('an unknown task state, bad metric names, bad aggregate results (too large: RESOURCE_EXHAUSTED)', () => {
    const st: WireSiteMessage = { msg: { $case: 'status', value: { taskId: 't', state: 'exploded', message: '', progress: 0, metrics: {} } } };
    expect(refusal(() => decodeSiteMessage(st, 'site "a"')).message).toBe('site "a": field "status.state": "exploded" is not running, done or failed');
    const metrics: WireSiteMessage = { msg: { $case: 'status', value: { taskId: 't', state: 'done', message: '', progress: 1, metrics: { 'no spaces': 1 } } } };
    expect(refusal(() => decodeSiteMessage(metrics, 'site "a"')).message).toMatch(/^site "a": field "status\.metrics\.no spaces": metric names/);
    const report = { studyId: 's', siteId: 'a', taskId: 't', predictions: [], digest: '' };
    expect(refusal(() => decodeEvaluationReport({ ...report, aggregateJson: '{"v":1,"cohorts":[]}' }, 'site "a"')).message).toMatch(/^site "a": field "aggregate_json\.cohorts": /);
    const big = refusal(() => decodeEvaluationReport({ ...report, aggregateJson: ' '.repeat((4 << 20) + 1) }, 'site "a"'));
    expect(big.grpcCode).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(decodeEvaluationReport({ ...report, aggregateJson: '{"v":1,"cohorts":{}}' }, 'site "a"').aggregate).toEqual({ v: 1, cohorts: {} });
  });
});

describe('gRPC adapters on loopback', () => {
  let server: grpc.Server;
  let port: number;
  const received: SiteMessage[] = [];
  const refused: string[] = [];
  beforeAll(async () => {
    server = new grpc.Server();
    addFederationServices(server, {
      session(call: SiteSessionCall) {
        call.onMessage((m) => {
          received.push(m);
          if (m.type === 'hello') for (const out of coordinatorMessages) call.send(out);
        });
        call.onError((err) => refused.push(err.message));
        call.onEnd(() => call.end());
      },
      downloadModel(call) {
        call.refuse({ code: grpc.status.NOT_FOUND, details: `no model "${call.request.model}"` });
      },
      async uploadUpdate(call, respond) {
        try {
          for await (const part of call) void part;
          respond({ code: grpc.status.NOT_FOUND, details: 'nothing to upload' });
        } catch (err) {
          respond({ code: (err as ProtocolError).grpcCode ?? grpc.status.INTERNAL, details: (err as Error).message });
        }
      },
    });
    port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  });
  afterAll(() => server.forceShutdown());

  it('every coordinator message crosses real serialization unchanged', async () => {
    const client = connectFederation(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const session = client.session();
    const got: CoordinatorMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      session.onMessage((m) => {
        got.push(m);
        if (got.length === coordinatorMessages.length) resolve();
      }, reject);
      session.onError(reject);
      session.send(siteMessages[0]!);
    });
    session.cancel();
    client.close();
    expect(got).toEqual(coordinatorMessages);
    expect(received[0]).toEqual(siteMessages[0]);
  });

  it('a hostile raw client sending a malformed message is refused with INVALID_ARGUMENT naming the site and the field', async () => {
    const raw = rawFederationClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const s = raw.session();
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      s.on('data', () => undefined);
      s.on('error', resolve);
      s.write({ msg: { $case: 'hello', value: { studyId: 's', siteId: 'mallory', agentVersion: '1', backend: 'x', cohortCounts: {}, joinSignature: '' } } });
      s.write({ msg: { $case: 'cosignature', value: { headJson: 'not json', signature: '', error: '', lastSize: 0 } } });
    });
    raw.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('site "mallory": field "cosignature.head_json" is not JSON');
    expect(refused).toContain('site "mallory": field "cosignature.head_json" is not JSON');
  });

  it('a request that does not decode (a size beyond 2^53, a length beyond the bytes) is INVALID_ARGUMENT, not INTERNAL', async () => {
    // Raw bytes written by hand (protobuf wire format): field 4 of DownloadRequest (offset, uint64)
    // = 2^64 - 1; UploadMessage.header (field 1) with num_examples (field 6) = 2^64 - 1; a string
    // field that declares 1000 bytes and carries 1.
    const max64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const hugeOffset = Buffer.from([0x0a, 0x01, 0x73, 0x12, 0x01, 0x6d, 0x20, ...max64]);
    const hugeCount = Buffer.from([0x0a, 1 + 1 + max64.length, 0x30, ...max64]);
    const truncated = Buffer.from([0x0a, 0xe8, 0x07, 0x73]);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const id = (b: Buffer) => b;
    const unary = (path: string, body: Buffer) => new Promise<grpc.ServiceError>((resolve) => {
      const call = client.makeServerStreamRequest(path, id, id, body);
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    const stream = (path: string, body: Buffer) => new Promise<grpc.ServiceError>((resolve) => {
      const call = client.makeClientStreamRequest(path, id, id, (err) => resolve(err!));
      call.write(body);
      call.end();
    });
    try {
      const e1 = await unary('/fl.v1.FederatedLearning/DownloadModel', hugeOffset);
      expect(e1.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e1.details).toMatch(/^peer: DownloadModel: undecodable message of 17 bytes \(Value is larger than Number.MAX_SAFE_INTEGER\); sizes and counts must be below 2\^53/);
      const e2 = await unary('/fl.v1.FederatedLearning/DownloadModel', truncated);
      expect(e2.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e2.details).toMatch(/DownloadModel: undecodable message of 4 bytes/);
      const e3 = await stream('/fl.v1.FederatedLearning/UploadUpdate', hugeCount);
      expect(e3.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(e3.details).toMatch(/^site "\?": UploadUpdate: undecodable message/);
      // A well-formed request still reaches its handler.
      const ok = await unary('/fl.v1.FederatedLearning/DownloadModel', Buffer.from([0x0a, 0x01, 0x73, 0x12, 0x01, 0x6d]));
      expect(ok).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'no model "m"' });
    } finally {
      client.close();
    }
  });
});
