// A NATS URL may carry the client's user and password (nats://USER:PASS@host:4222, or tls://...),
// which the nats client does not read from the URL itself: split them into connect options.
// Percent-encoded characters in the password are decoded. The URL without credentials is what
// gets logged.
export interface NatsServerOptions {
  servers: string;
  user?: string;
  pass?: string;
}

export function natsServerOptions(url: string): NatsServerOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { servers: url };
  }
  if (!u.username && !u.password) return { servers: url };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { servers: u.toString().replace(/\/$/, ''), user, ...(pass ? { pass } : {}) };
}
