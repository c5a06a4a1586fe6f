// Who may call what: with mutual TLS the party comes from its certificate (never from a message
// field), revoked certificates are refused, admin calls need an admin certificate. With an
// explicit --insecure the site name in Hello is trusted (one-machine experiments only).
import type { Logger } from 'pino';
import { authorize, assertClaimedSite, type CallWithAuth } from '../shared/security/identity.js';
import type { DenyList } from '../shared/security/fingerprint.js';
import { X509Certificate } from 'node:crypto';

export interface Caller {
  readonly name: string;
  readonly fingerprint: string | null;
  /** Base64 DER SPKI of the certificate's key (mTLS only). */
  readonly publicKey?: string | null;
  /** Base64 DER of the client certificate (mTLS only). */
  readonly certificate?: string | null;
}

function certPublicKey(call: CallWithAuth): string | null {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!raw) return null;
  try {
    return new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  } catch {
    return null;
  }
}

export interface Gatekeeper {
  readonly secure: boolean;
  /** The calling site; `claimed` is the site id the message carries. */
  site(call: CallWithAuth, claimed: string, method: string): Caller;
  admin(call: CallWithAuth, method: string): Caller;
}

export function mtlsGatekeeper(deny: DenyList, log: Logger): Gatekeeper {
  return {
    secure: true,
    site(call, claimed, method) {
      const id = authorize(call, { roles: ['site'], deny, log, method });
      assertClaimedSite(id, claimed, log);
      const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
      return { name: id.name, fingerprint: id.fingerprint, publicKey: certPublicKey(call), certificate: raw ? raw.toString('base64') : null };
    },
    admin(call, method) {
      const id = authorize(call, { roles: ['admin'], deny, log, method });
      return { name: id.name, fingerprint: id.fingerprint };
    },
  };
}

export function insecureGatekeeper(): Gatekeeper {
  return {
    secure: false,
    site: (_call, claimed) => ({ name: claimed, fingerprint: null }),
    admin: () => ({ name: 'admin', fingerprint: null }),
  };
}
