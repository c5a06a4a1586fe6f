// Classifies a failed call to the coordinator: a permanent problem (certificate name mismatch,
// a server of another CA, our certificate refused, a site the study does not list, TLS against a
// plain-text port) fails fast with what to do; a transient one (nothing listening yet, network
// down, coordinator restarting) is retried with the reason shown. Used by the site agent's
// reconnect loop and by the admin commands (`fl status`, `fl study`).

/** gRPC status codes used here (numbers, so this file needs no gRPC import). */
const UNAVAILABLE = 14;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const FAILED_PRECONDITION = 9;

export interface ConnectionProblem {
  /** true: retrying cannot help; false: retry with backoff. */
  readonly permanent: boolean;
  /** Short cause, e.g. "connection refused". */
  readonly reason: string;
  /** What the person at this end can do. */
  readonly advice: string;
}

/** A permanent connection problem; its message says what to do. */
export class PermanentConnectionError extends Error {
  override name = 'PermanentConnectionError';
  constructor(readonly problem: ConnectionProblem, options?: { cause?: unknown }) {
    super(`${problem.reason}: ${problem.advice}`, options);
  }
}

export function classifyConnectionError(err: { code?: number | string; details?: string; message?: string }, target: string, who: 'site' | 'admin' = 'site'): ConnectionProblem {
  const d = `${err.details ?? ''} ${err.message ?? ''}`;
  const kit = who === 'site' ? 'site.yaml' : 'admin.yaml';
  if (err.code === PERMISSION_DENIED || err.code === UNAUTHENTICATED) {
    if (/not listed in the study'?s sites/i.test(d)) {
      return { permanent: true, reason: `the coordinator at ${target} refused this site: ${err.details}`, advice: "ask the study coordinator to add this site's id to study.sites in coordinator.yaml (and restart the coordinator); check site_id in site.yaml" };
    }
    return { permanent: true, reason: `the coordinator at ${target} refused this party: ${err.details}`, advice: `use the certificate of this party's startup kit (${kit}); if it was revoked or expired, ask for a new kit (fl provision --add)` };
  }
  if (err.code === FAILED_PRECONDITION) {
    return { permanent: true, reason: `the coordinator at ${target} refused the session: ${err.details}`, advice: `check study_id and site_id in ${kit} against the coordinator's study` };
  }
  if (err.code !== undefined && err.code !== UNAVAILABLE && typeof err.code === 'number') {
    return { permanent: false, reason: `${err.details || err.message || 'call failed'} (gRPC code ${err.code})`, advice: 'retrying' };
  }
  if (/Hostname\/IP does not match|altnames|ERR_TLS_CERT_ALTNAME_INVALID/i.test(d)) {
    return { permanent: true, reason: `the coordinator's certificate is not valid for the name "${target.replace(/:\d+$/, '')}"`, advice: `dial the host name the coordinator's kit was issued for (the coordinator: field of ${kit} as provisioned), or re-provision the coordinator with --coordinator-host set to the name sites dial` };
  }
  if (/self[- ]signed|unable to (verify|get local issuer)|unknown ca|UNABLE_TO_GET_ISSUER|certificate signature failure|DEPTH_ZERO/i.test(d)) {
    return { permanent: true, reason: `the server at ${target} presented a certificate that this study's CA did not issue`, advice: `check the address and port (another TLS service may answer there) and that ca.pem in the kit is this study's CA` };
  }
  if (/certificate required|bad certificate|certificate unknown|unknown certificate|certificate expired|certificate revoked|alert (number )?4[0-9]/i.test(d)) {
    return { permanent: true, reason: `the coordinator at ${target} refused this party's certificate`, advice: `use cert.pem/key.pem of this party's startup kit; a kit of another study, an expired or a revoked certificate is refused (check with "openssl verify -CAfile ca.pem cert.pem"); ask for a new kit with fl provision --add` };
  }
  if (/wrong version number|packet length too long|http\/1\.1|WRONG_VERSION_NUMBER|unexpected eof while reading/i.test(d)) {
    return { permanent: true, reason: `${target} does not speak TLS gRPC`, advice: 'check the port (the coordinator listens on coordinator.listen, default 7443), and that both ends agree on --insecure' };
  }
  if (/ECONNREFUSED|connection refused/i.test(d)) {
    return { permanent: false, reason: `connection refused by ${target}`, advice: 'nothing listens there yet: is the coordinator running, and is the host:port right? retrying' };
  }
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|Name resolution failed|DNS resolution failed/i.test(d)) {
    return { permanent: false, reason: `cannot resolve the host name of ${target}`, advice: 'check the coordinator address and this machine\'s DNS; retrying' };
  }
  if (/ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|timed out|Deadline/i.test(d)) {
    return { permanent: false, reason: `no answer from ${target}`, advice: 'a firewall or proxy may drop the connection (outbound TCP to the coordinator port must be allowed); retrying' };
  }
  if (/ECONNRESET|socket hang up|Connection dropped|session closed|GOAWAY|Stream removed/i.test(d)) {
    return { permanent: false, reason: `connection to ${target} lost`, advice: 'the coordinator may be restarting; retrying' };
  }
  return { permanent: false, reason: `${target} unavailable: ${(err.details || err.message || 'unknown error').trim()}`, advice: 'retrying' };
}
