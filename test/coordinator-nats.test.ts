// The coordinator with a real nats-server: its study log is replicated to JetStream (and the
// replicated copy verifies with `fl audit verify --nats`), and its study events are published to
// fl.<study>.events.*. Skipped loudly when nats-server is not installed (.ci/run installs it).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { connect, AckPolicy, DeliverPolicy } from 'nats';
import { NATS_BIN, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { startCoordinator } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import { flRun } from './helpers/processes.js';

let nats: NatsServer | null = null;
afterAll(async () => {
  await nats?.dispose();
});

describe.skipIf(!NATS_BIN)('coordinator with NATS JetStream', () => {
  it('replicates the study log (verifiable from NATS) and publishes study events', async () => {
    nats = await startNatsServer();
    const dir = mkdtempSync(join(tmpdir(), 'cnats-'));
    const log = pino({ level: 'silent' });
    const file = coordinatorFileSchema.parse({
      study: { id: 'natsstudy', rounds: 2, min_sites: 2, sites: ['site-1', 'site-2'], round_deadline_s: 20, models: [{ name: 'm', architecture: 'fake' }] },
      coordinator: { listen: '127.0.0.1:0', data_dir: dir, insecure: true, nats_url: nats.url },
    });
    const initial: TensorSet = { infos: [{ name: 'w', shape: [10], dtype: 'float32' }], data: new Float32Array(10) };
    const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]) });
    const agents = ['site-1', 'site-2'].map((s, i) => new SiteAgent({
      studyId: 'natsstudy', siteId: s, address: `127.0.0.1:${h.port}`, credentials: grpc.credentials.createInsecure(), backoff: { initial_ms: 50, max_ms: 500 },
    }, new OffsetTrainer(i + 1, 10), log));
    agents.forEach((a) => void a.run());
    const outcome = await h.done;
    expect(outcome.state).toBe('completed');
    await h.close(); // flushes the replication and the event queue

    const verify = await flRun(['audit', 'verify', join(dir, 'audit'), '--nats', nats.url, '--study', 'natsstudy']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      const streams = await jsm.streams.names().next();
      const eventsStream = streams.find((n) => n.includes('EVENTS'))!;
      expect(eventsStream).toBeDefined();
      const js = nc.jetstream();
      const consumer = await js.consumers.get(eventsStream, (await jsm.consumers.add(eventsStream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All })).name);
      const types: string[] = [];
      const msgs = await consumer.fetch({ max_messages: 200, expires: 2000 });
      for await (const m of msgs) types.push((m.json() as { type: string }).type);
      expect(types).toEqual(expect.arrayContaining(['round_started', 'update_accepted', 'round_completed', 'study_completed']));
    } finally {
      await nc.close();
    }
  });
});
