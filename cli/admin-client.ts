// The StudyAdmin client behind `fl status` and `fl study start|stop`: connects with an admin
// startup kit (admin.yaml + its certificate, mutual TLS) and turns every failure into a CliError
// that names the kit file, the field, or the coordinator address.
import * as grpc from '@grpc/grpc-js';
import { connectStudyAdmin, isServiceError, type AdminCallOptions, type StudyAdminClient } from '../shared/protocol/index.js';
import { HostPort, KitConfigError, loadKit, type AdminKit } from '../shared/security/kit.js';
import { clientCredentials, explainConnectionError, TlsConfigError } from '../shared/security/tls.js';
import { clientOptions } from '../shared/security/limits.js';
import { CliError } from './errors.js';
import { classifyConnectionError } from '../site-agent/connection-errors.js';

export interface AdminConnectOptions {
  /** admin.yaml of an admin startup kit. */
  readonly config: string;
  /** Overrides the kit's `coordinator` (HOST:PORT), e.g. through an SSH tunnel. */
  readonly coordinator?: string;
  /** Per-call deadline in seconds (default 30). */
  readonly timeout?: string;
}

export interface AdminConnection {
  readonly client: StudyAdminClient;
  readonly kit: AdminKit;
  readonly target: string;
  readonly deadlineMs: number;
  close(): void;
}

/** Commander option definitions shared by the admin commands. */
export const ADMIN_OPTIONS = {
  config: ['-c, --config <file>', 'admin.yaml of an admin startup kit (from `fl provision --admins NAME`)'],
  coordinator: ['--coordinator <host:port>', "override the kit's coordinator address"],
  timeout: ['--timeout <seconds>', 'deadline of the call', '30'],
} as const;

export function connectAdmin(o: AdminConnectOptions): AdminConnection {
  let kit: AdminKit;
  try {
    kit = loadKit(o.config, 'admin');
  } catch (err) {
    if (err instanceof KitConfigError) throw new CliError(`${err.message}\n(expected the admin.yaml of an admin startup kit)`, 2, { cause: err });
    throw err;
  }
  let target = kit.coordinator;
  if (o.coordinator !== undefined) {
    const parsed = HostPort.safeParse(o.coordinator);
    if (!parsed.success) throw new CliError(`--coordinator "${o.coordinator}": ${parsed.error.issues[0]?.message ?? 'expected HOST:PORT'}`, 2);
    target = parsed.data;
  }
  const seconds = Number(o.timeout ?? '30');
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--timeout "${o.timeout}": expected a positive number of seconds`, 2);
  let credentials: grpc.ChannelCredentials;
  try {
    credentials = clientCredentials(kit.tls);
  } catch (err) {
    if (err instanceof TlsConfigError) throw new CliError(`${o.config}: field "tls": ${err.message}`, 2, { cause: err });
    throw err;
  }
  const client = connectStudyAdmin(target, credentials, clientOptions());
  return { client, kit, target, deadlineMs: seconds * 1000, close: () => client.close() };
}

/** One admin call with a deadline; failures become CliErrors that explain themselves. */
export async function callAdmin<Res>(conn: AdminConnection, method: string, fn: (client: StudyAdminClient, options: AdminCallOptions) => Promise<Res>): Promise<Res> {
  try {
    return await fn(conn.client, { deadline: new Date(Date.now() + conn.deadlineMs) });
  } catch (err) {
    if (!isServiceError(err)) throw err;
    throw new CliError(describeCallError(err, conn, method), 1, { cause: err });
  }
}

function describeCallError(err: grpc.ServiceError, conn: AdminConnection, method: string): string {
  // Connection-level problems first: an ECONNREFUSED gets connection advice, a certificate
  // problem certificate advice (shared/security/tls.ts explains the TLS cases it knows).
  if (err.code === grpc.status.UNAVAILABLE) {
    const p = classifyConnectionError(err, conn.target, 'admin');
    if (!p.permanent) return `${method}: ${p.reason}: ${p.advice.replace(/;? ?retrying$/, '')}`;
    if (/certificate is not valid for the name|does not speak TLS/.test(p.reason)) return `${method}: ${p.reason}: ${p.advice}`;
  }
  const explained = explainConnectionError(err, conn.target);
  if (explained) return explained;
  switch (err.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return `${method}: no answer from the coordinator at ${conn.target} within ${conn.deadlineMs / 1000} s`;
    case grpc.status.PERMISSION_DENIED:
    case grpc.status.UNAUTHENTICATED:
      return `${method} refused by the coordinator at ${conn.target}: ${err.details} (admin "${conn.kit.admin_id}", certificate ${conn.kit.tls.cert})`;
    case grpc.status.UNIMPLEMENTED:
      return `${method}: the server at ${conn.target} does not offer the study admin service (is it an fl coordinator?)`;
    default:
      return `${method} failed at ${conn.target}: ${grpc.status[err.code] ?? err.code}: ${err.details}`;
  }
}
