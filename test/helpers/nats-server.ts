// Launches a real nats-server (JetStream on, store in a temp dir, free port) for integration
// tests. When the binary is absent, `natsServerBinary()` returns null and tests should skip
// with `describe.skipIf(!NATS_BIN)`; a loud notice is printed once.
//
//   const srv = await startNatsServer();        // srv.url = nats://127.0.0.1:PORT
//   await srv.stop(); await srv.restart();       // same port and store (outage simulation)
//   await srv.dispose();                         // stop and delete the store
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { freePort } from './processes.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

let noticed = false;

export function natsServerBinary(): string | null {
  const found = CANDIDATES.find((p): p is string => !!p && existsSync(p)) ?? null;
  if (!found && !noticed) {
    noticed = true;
    console.warn(
      '\n' + '!'.repeat(78) + '\n!! nats-server not found (looked in ' + CANDIDATES.filter(Boolean).join(', ') +
      ').\n!! NATS JetStream integration tests are SKIPPED. Install it: apt-get install nats-server\n' + '!'.repeat(78) + '\n',
    );
  }
  return found;
}

export const NATS_BIN = natsServerBinary();

export { freePort };

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess, log: () => string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = tcpConnect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Kills the server (SIGKILL: an abrupt outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same JetStream store. */
  restart(): Promise<void>;
  /** Stops the server and deletes its store. */
  dispose(): Promise<void>;
}

export async function startNatsServer(): Promise<NatsServer> {
  const bin = natsServerBinary();
  if (!bin) throw new Error('nats-server binary not found');
  const storeDir = await mkdtemp(join(tmpdir(), 'fl-nats-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';
  const launch = async () => {
    output = '';
    const c = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child = c;
    await waitForPort(port, 10_000, c, () => output.slice(-2000));
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`, port, storeDir,
    stop,
    restart: launch,
    async dispose() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
