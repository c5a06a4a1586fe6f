// The coordinator's read-only HTTP view: a dashboard page, the status as JSON (the `fl status
// --json` shape), server-sent study events, Prometheus metrics, the report and an audit summary.
// Only GET/HEAD; nothing here can change the study. Binds to 127.0.0.1 unless configured; with a
// token every request needs `Authorization: Bearer TOKEN` (or `?token=TOKEN`, for the browser's
// EventSource, which cannot set headers).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { CoordinatorHandle } from '../coordinator.js';
import type { HttpConfig } from '../../shared/config/study.js';
import { LiveView } from './live-view.js';
import { createStudyMetrics } from './metrics.js';
import { dashboardPage } from './page.js';

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly live: LiveView;
  close(): Promise<void>;
}

export interface DashboardOptions {
  readonly log: Logger;
  /** Tests leave the process metrics (heap, event loop) out; default on. */
  readonly processMetrics?: boolean;
  /** Seconds between SSE keep-alive comments (default 15). */
  readonly keepAliveS?: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function sameToken(given: string, expected: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

type Handle = Pick<CoordinatorHandle, 'events' | 'status' | 'sites' | 'store' | 'file' | 'engine' | 'recorder'>;

export async function startDashboard(handle: Handle, http: HttpConfig, opts: DashboardOptions): Promise<DashboardServer> {
  const { log } = opts;
  const cfg = { ...http.listen, token: http.token };
  const { study, coordinator } = handle.file;
  const dataDir = coordinator.data_dir;
  const recorder = handle.recorder as Partial<{ size: number; treeHead(): unknown }>;
  const live = new LiveView(handle.events, handle.status().rounds);
  const metrics = createStudyMetrics(study.id, {
    events: handle.events,
    expectedSites: () => study.sites ?? handle.sites.all().map((s) => s.site),
    connectedSites: () => handle.sites.connectedSites(),
    currentRound: () => handle.engine.currentRound,
    modelBytes: (model) => (handle.store.has(model) ? handle.store.get(model).set.data.byteLength : 0),
    logSize: () => (typeof recorder.size === 'number' ? recorder.size : 0),
  }, { processMetrics: opts.processMetrics ?? true });
  if (!LOOPBACK.test(cfg.host) && !cfg.token) {
    log.warn({ host: cfg.host }, 'the dashboard listens beyond this machine without a token: anyone who reaches the port can read the study status; set coordinator.http.token (or --http-token)');
  }
  const streams = new Set<ServerResponse>();
  const unsubscribe = handle.events.subscribe((e) => {
    const text = `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    for (const res of streams) res.write(text);
  });
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, (opts.keepAliveS ?? 15) * 1000);
  keepAlive.unref();

  const send = (res: ServerResponse, code: number, type: string, body: string | Buffer) => {
    res.writeHead(code, {
      'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    });
    res.end(body);
  };
  const json = (res: ServerResponse, value: unknown) => send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value, null, 2) + '\n');

  const auditSummary = () => {
    const head = typeof recorder.treeHead === 'function' ? recorder.treeHead() : null;
    const snap = live.snapshot();
    return {
      study: study.id,
      log_entries: typeof recorder.size === 'number' ? recorder.size : null,
      tree_head: head,
      cosignatures: snap.cosignatures,
      verify: `fl audit verify ${coordinator.audit_dir ?? join(dataDir, 'audit')}`,
    };
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'read-only: only GET and HEAD\n');
    }
    if (cfg.token) {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : (url.searchParams.get('token') ?? '');
      if (!given || !sameToken(given, cfg.token)) {
        res.setHeader('www-authenticate', 'Bearer realm="fl dashboard"');
        return send(res, 401, 'text/plain; charset=utf-8', 'unauthorised: send Authorization: Bearer TOKEN (coordinator.http.token), or open /?token=TOKEN\n');
      }
    }
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return send(res, 200, 'text/html; charset=utf-8', dashboardPage(study.id));
      case '/api/status':
        return json(res, handle.status());
      case '/api/dashboard': {
        const status = handle.status();
        const ended = live.snapshot().ended;
        return json(res, {
          status, live: live.snapshot(), rounds_planned: study.rounds, min_sites: study.min_sites,
          models: study.models.map((m) => m.name), ended,
          links: { report_json: '/report.json', report_html: '/report.html', audit: '/api/audit', metrics: '/metrics' },
        });
      }
      case '/api/audit':
        return json(res, auditSummary());
      case '/metrics': {
        const text = await metrics.registry.metrics();
        return send(res, 200, metrics.registry.contentType, text);
      }
      case '/events': {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        res.write(`retry: 3000\nevent: hello\ndata: ${JSON.stringify({ study: study.id, time: Date.now() })}\n\n`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      case '/report.json':
      case '/report.html': {
        const file = join(dataDir, url.pathname.slice(1));
        const body = await readFile(file).catch(() => null);
        if (!body) return send(res, 404, 'text/plain; charset=utf-8', `${url.pathname.slice(1)} is written when the study ends (${file})\n`);
        return send(res, 200, url.pathname.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8', body);
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', `no such page: ${url.pathname} (try /, /api/status, /events, /metrics)\n`);
    }
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: Error) => {
      log.error({ err }, 'dashboard request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(new Error(
      err.code === 'EADDRINUSE' ? `dashboard: ${cfg.host}:${cfg.port} is already in use; choose another --http port`
        : err.code === 'EADDRNOTAVAIL' ? `dashboard: ${cfg.host} is not an address of this machine (--http HOST:PORT)`
          : `dashboard: cannot listen on ${cfg.host}:${cfg.port}: ${err.message}`,
    ), { name: 'ConfigError' })));
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const url = `http://${hostInUrl}:${port}/`;
  log.info({ url, token: Boolean(cfg.token) }, 'dashboard listening');
  return {
    url, port, host: cfg.host, live,
    async close() {
      clearInterval(keepAlive);
      unsubscribe();
      live.close();
      metrics.close();
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
