// gRPC transport credentials from a startup kit: mutual TLS by default, plain text only through
// the explicitly named `insecure…` helpers, which log a warning every time they are used.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { createLogger, type Logger } from '../util/log.js';
import { FlError } from '../errors/index.js';
import { registerBulkIdentity } from '../transport/bulk-connect.js';

export interface TlsKitFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export class TlsConfigError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('tls.config', message, options);
  }
}

const EXPIRY_WARNING_DAYS = 30;

interface LoadedKit {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

/** Read the kit and fail early, naming the file, on problems the handshake would report obscurely. */
export function loadTlsKit(kit: TlsKitFiles, log?: Logger, now = new Date()): LoadedKit {
  const ca = readPem(kit.ca, 'CA certificate');
  const cert = readPem(kit.cert, 'certificate');
  const key = readPem(kit.key, 'private key');
  let caCert: X509Certificate;
  let own: X509Certificate;
  try {
    caCert = new X509Certificate(ca);
  } catch (err) {
    throw new TlsConfigError(`${kit.ca}: not a PEM certificate`, { cause: err });
  }
  try {
    own = new X509Certificate(cert);
  } catch (err) {
    throw new TlsConfigError(`${kit.cert}: not a PEM certificate`, { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsConfigError(`${kit.key}: not a PEM private key`, { cause: err });
  }
  if (!own.checkPrivateKey(privateKey)) throw new TlsConfigError(`${kit.key} does not belong to the certificate ${kit.cert}`);
  if (!own.verify(caCert.publicKey)) throw new TlsConfigError(`${kit.cert} was not issued by the study CA ${kit.ca}`);
  const notAfter = new Date(own.validTo);
  if (notAfter <= now) throw new TlsConfigError(`${kit.cert} expired on ${notAfter.toISOString()}; re-provision this party`);
  if (new Date(own.validFrom) > now) throw new TlsConfigError(`${kit.cert} is not valid before ${own.validFrom}`);
  const daysLeft = (notAfter.getTime() - now.getTime()) / 86_400_000;
  if (daysLeft < EXPIRY_WARNING_DAYS) {
    log?.warn({ cert: kit.cert, notAfter: notAfter.toISOString() }, `certificate expires in ${Math.floor(daysLeft)} days`);
  }
  return { ca, cert, key };
}

/** Coordinator side: TLS with a mandatory client certificate signed by the study CA. */
export function serverCredentials(kit: TlsKitFiles, log?: Logger): ServerCredentials {
  const { ca, cert, key } = loadTlsKit(kit, log);
  return ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true);
}

/** Site/admin side: TLS that verifies the coordinator against the study CA and presents the kit's certificate. */
export function clientCredentials(kit: TlsKitFiles, log?: Logger): ChannelCredentials {
  const { ca, cert, key } = loadTlsKit(kit, log);
  const creds = ChannelCredentials.createSsl(ca, key, cert);
  // The bulk channel beside this gRPC channel presents the same certificate (shared/transport/bulk-connect.ts).
  registerBulkIdentity(creds, { ca, cert, key });
  return creds;
}

const INSECURE_WARNING =
  'INSECURE TRANSPORT: gRPC runs in plain text without mutual TLS; peers are not authenticated and traffic is readable. Use only for local debugging (--insecure).';

/** Plain-text server (only behind an explicit --insecure flag). */
export function insecureServerCredentials(log: Logger = createLogger('security')): ServerCredentials {
  log.warn(INSECURE_WARNING);
  return ServerCredentials.createInsecure();
}

/** Plain-text client (only behind an explicit --insecure flag). */
export function insecureClientCredentials(log: Logger = createLogger('security')): ChannelCredentials {
  log.warn(INSECURE_WARNING);
  const creds = ChannelCredentials.createInsecure();
  registerBulkIdentity(creds, 'plain');
  return creds;
}

/**
 * A sentence for the operator when a call fails before reaching the coordinator. With TLS 1.3
 * the server's refusal of a client certificate reaches grpc-js only as a dropped connection,
 * so the explanation lists the causes. Returns null for errors that are not connection failures.
 */
export function explainConnectionError(err: { code?: number; details?: string }, target: string): string | null {
  if (err.code !== 14 /* UNAVAILABLE */) return null;
  const d = err.details ?? '';
  if (/certificate required/i.test(d)) {
    return `${target} requires a client certificate (mutual TLS): start with the cert.pem/key.pem of this party's startup kit`;
  }
  if (/self[- ]signed|unable to verify|unknown ca|Hostname\/IP does not match|altnames/i.test(d)) {
    return `the server at ${target} did not present a certificate of this study (check ca.pem and the coordinator address): ${d}`;
  }
  return `cannot establish a TLS session with ${target}: the coordinator is unreachable, or it refused this party's certificate (expired, issued by another study's CA, or revoked); check the kit with "openssl verify -CAfile ca.pem cert.pem". Detail: ${d}`;
}
