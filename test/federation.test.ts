// Multi-process federation over mutual TLS on loopback: a real `fl coordinator` process and
// three real `fl site` processes training a real tfjs model on synthetic data for 2 rounds,
// plus a rogue site (a valid certificate) whose malformed updates (wrong shape; NaN) are
// refused while the round completes.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { fl, flRun, waitFor, type Proc } from './helpers/processes.js';
import { connectFederation, type TrainTask } from '../shared/protocol/index.js';
import { clientCredentials } from '../shared/security/tls.js';
import { downloadModel, uploadUpdate } from '../site-agent/transfer.js';
import { readTensorSetFile } from '../shared/tensor/file.js';
import { parseStudyReport } from '../shared/report/schema.js';

const procs: Proc[] = [];
afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

describe('federated study across processes (mTLS)', () => {
  it('trains 2 rounds with 3 sites and refuses malformed updates from a rogue site', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fed-'));
    const sites = ['site-1', 'site-2', 'site-3'];
    let r = await flRun(['synth', '--out', join(dir, 'data'), '--sites', '3', '--cases-per-site', '48', '--seed', '3', '--image-size', '32']);
    expect(r.code, r.stderr).toBe(0);
    r = await flRun(['provision', '--study', 'fedtest', '--sites', [...sites, 'rogue'].join(','), '--admins', 'ops', '--coordinator-host', 'localhost', '--out', join(dir, 'pki')]);
    expect(r.code, r.stderr).toBe(0);

    const pki = (p: string) => join(dir, 'pki', p);
    const cfgPath = join(dir, 'coordinator.yaml');
    writeFileSync(cfgPath, stringify({
      study: {
        id: 'fedtest', rounds: 2, min_sites: 3, sites: [...sites, 'rogue'], round_deadline_s: 240, join_timeout_s: 120,
        models: [{ name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8, 8], seed: 1 } }],
        training: { epochs: 1, batch_size: 8, learning_rate: 0.002, seed: 5 },
      },
      coordinator: {
        listen: '127.0.0.1:0', data_dir: join(dir, 'coord'),
        tls: { ca: pki('coordinator/ca.pem'), cert: pki('coordinator/cert.pem'), key: pki('coordinator/key.pem') },
      },
    }));
    // A malformed --bulk-port is a usage error naming the flag.
    r = await flRun(['coordinator', '--config', cfgPath, '--bulk-port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bulk-port abc: expected a port (0-65535) or "off"');
    // The sites' model bytes go on the bulk channel (any free port here), beside the gRPC port.
    const coord = fl(['coordinator', '--config', cfgPath, '--bulk-port', '0'], { FL_LOG_LEVEL: 'info' });
    procs.push(coord);
    await waitFor(() => /"port":\d+/.test(coord.stderr) || coord.child.exitCode !== null, 60_000, 'coordinator to listen');
    const port = Number(/"port":(\d+)/.exec(coord.stderr)![1]);
    expect(Number(/"bulk_port":(\d+)/.exec(coord.stderr)?.[1])).toBeGreaterThan(0);

    for (const s of sites) {
      const kit = pki(`sites/${s}`);
      const siteCfg = join(kit, 'site.test.yaml');
      writeFileSync(siteCfg, stringify({
        study_id: 'fedtest', site_id: s, coordinator: `localhost:${port}`, manifest: join(dir, 'data', s, 'manifest.csv'),
        backend: 'auto', tls: { ca: join(kit, 'ca.pem'), cert: join(kit, 'cert.pem'), key: join(kit, 'key.pem') },
        backoff: { initial_ms: 100, max_ms: 1000 },
      }));
      procs.push(fl(['site', '--config', siteCfg]));
    }

    // The rogue: a participant with a valid certificate that sends malformed updates, then a valid one.
    const rogueKit = pki('sites/rogue');
    const client = connectFederation(`localhost:${port}`, clientCredentials({ ca: join(rogueKit, 'ca.pem'), cert: join(rogueKit, 'cert.pem'), key: join(rogueKit, 'key.pem') }));
    const session = client.session();
    const tasks: TrainTask[] = [];
    session.onMessage((m) => m.type === 'train' && tasks.push(m), () => {});
    session.onError(() => {});
    session.send({ type: 'hello', studyId: 'fedtest', siteId: 'rogue', agentVersion: 'rogue', backend: 'none', cohortCounts: {} });
    const errors: string[] = [];
    for (let round = 1; round <= 2; round++) {
      await waitFor(() => tasks.length >= round, 180_000, `round ${round} task`);
      const ref = tasks[round - 1]!.models[0]!;
      const g = await downloadModel(client, { studyId: 'fedtest', model: ref!.model, version: ref!.version, expectDigest: ref!.digest });
      const header = { studyId: 'fedtest', siteId: 'rogue', model: 'ddfn', round, modelVersion: ref!.version, numExamples: 1, metrics: {}, taskId: tasks[round - 1]!.taskId, signature: '' };
      const wrong = { infos: [{ ...g.set.infos[0]!, shape: [...g.set.infos[0]!.shape.slice(0, -1), g.set.infos[0]!.shape.at(-1)! + 1] }, ...g.set.infos.slice(1)], data: new Float32Array(g.set.data.length + g.set.data.length / g.set.infos[0]!.shape.at(-1)!) };
      const nan = new Float32Array(g.set.data.length);
      nan[3] = Number.NaN;
      for (const [id, set] of [[`rogue-shape-r${round}`, wrong], [`rogue-nan-r${round}`, { infos: g.set.infos, data: nan }]] as const) {
        await uploadUpdate(client, { ...header, updateId: id }, set).then(
          () => errors.push('accepted!'),
          (err: grpc.ServiceError) => errors.push(`${grpc.status[err.code]}: ${err.details}`),
        );
      }
      // Then a well-formed (zero) update, so the rogue is a complete participant of the round.
      const receipt = await uploadUpdate(client, { ...header, updateId: `rogue-zero-r${round}` }, { infos: g.set.infos, data: new Float32Array(g.set.data.length) });
      expect(receipt.accepted).toBe(true);
    }
    expect(errors.filter((e) => e.startsWith('INVALID_ARGUMENT') && /expected shape/.test(e))).toHaveLength(2);
    expect(errors.filter((e) => e.startsWith('INVALID_ARGUMENT') && /site "rogue".*non-finite value at element 3/.test(e))).toHaveLength(2);
    expect(errors).not.toContain('accepted!');
    const code = await coord.exited;
    session.cancel();
    client.close();
    expect(code, coord.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'coord', 'report.json'), 'utf8'));
    parseStudyReport(report); // report.json fits its contract (shared/report/schema.ts)
    expect(report.state).toBe('completed');
    expect(report.rounds.map((x: { state: string }) => x.state)).toEqual(['completed', 'completed']);
    const before = await readTensorSetFile(join(dir, 'coord', 'checkpoints', 'ddfn', 'round-0.flt'));
    const after = await readTensorSetFile(join(dir, 'coord', 'checkpoints', 'ddfn', 'round-2.flt'));
    expect(after.digest).not.toBe(before.digest);
    expect(report.final_models.ddfn.digest).toBe(after.digest);
    for (const round of report.rounds) {
      expect(round.models.ddfn.sites.sort()).toEqual([...sites, 'rogue'].sort());
      expect(round.models.ddfn.metrics.train_loss).toBeGreaterThan(0);
      expect(round.models.ddfn.rejected.map((x: { reason: string }) => x.reason).join('\n')).toMatch(/expected shape[\s\S]*non-finite/);
    }
  }, 600_000);
});
