// The site's Hello as it really leaves the agent (issue 21): with its certificate key and the
// privacy guard, the Hello carries a join signature over (study, site, train cases) that verifies
// with the site's key; a Hello its own guard blocks ends the agent with a permanent error (it
// looped forever before, reconnecting every second with the same blocked Hello).
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { addFederationServices, type Hello } from '../shared/protocol/index.js';
import { verifyJoinSignature } from '../shared/audit/update-signature.js';
import { OffsetTrainer } from '../test/helpers/fake-trainer.js';
import { SiteAgent } from './agent.js';
import { PrivacyGuard } from './privacy-guard.js';
import { PermanentConnectionError } from './connection-errors.js';

const log = pino({ level: 'silent' });
const servers: grpc.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.forceShutdown();
});

async function fakeCoordinator(onHello: (h: Hello) => void): Promise<number> {
  const server = new grpc.Server();
  servers.push(server);
  addFederationServices(server, {
    session(call) {
      call.onMessage((m) => {
        if (m.type !== 'hello') return;
        onHello(m);
        call.send({ type: 'welcome', studyId: m.studyId, siteId: m.siteId, heartbeatIntervalMs: 15_000, currentRound: 0 });
        call.send({ type: 'stop', reason: 'study completed' });
      });
      call.onError(() => undefined);
      call.onEnd(() => call.end());
    },
  });
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
}

describe('the Hello of a site with a certificate key', () => {
  it('passes the privacy guard and carries a join signature that verifies with the site key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const hellos: Hello[] = [];
    const port = await fakeCoordinator((h) => hellos.push(h));
    const agent = new SiteAgent({
      studyId: 'sln', siteId: 'hosp-a', address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 200 }, siteKey: privateKey, guard: new PrivacyGuard({ studyId: 'sln', siteId: 'hosp-a', log }),
    }, new OffsetTrainer(1, 37), log);
    const end = await agent.runUntilEnd();
    expect(end.ended).toBe('completed');
    expect(hellos).toHaveLength(1);
    expect(hellos[0]!.cohortCounts).toEqual({ train: 37 });
    expect(verifyJoinSignature(createPublicKey(privateKey), { study: 'sln', site: 'hosp-a', train_cases: 37 }, hellos[0]!.joinSignature!)).toBe(true);
    expect(verifyJoinSignature(createPublicKey(privateKey), { study: 'sln', site: 'hosp-a', train_cases: 38 }, hellos[0]!.joinSignature!)).toBe(false);
  });

  it('a Hello the guard blocks ends the agent with a permanent error instead of a reconnect loop', async () => {
    let sessions = 0;
    const port = await fakeCoordinator(() => sessions++);
    const agent = new SiteAgent({
      // The guard belongs to another site id: it blocks every Hello of this agent.
      studyId: 'sln', siteId: 'hosp-a', address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 10, max_ms: 20 }, guard: new PrivacyGuard({ studyId: 'sln', siteId: 'hosp-b', log }),
    }, new OffsetTrainer(1, 37), log);
    const err = await agent.runUntilEnd().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentConnectionError);
    expect((err as Error).message).toMatch(/^this site's privacy guard blocked its own Hello: .*siteId "hosp-a" is not this site.*: this is a bug in fl site/);
    expect(sessions).toBe(0);
  });
});
