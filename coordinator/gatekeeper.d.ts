import type { Logger } from 'pino';
import { type CallWithAuth } from '../shared/security/identity.js';
import type { DenyList } from '../shared/security/fingerprint.js';
export interface Caller {
    readonly name: string;
    readonly fingerprint: string | null;
    /** Base64 DER SPKI of the certificate's key (mTLS only). */
    readonly publicKey?: string | null;
}
export interface Gatekeeper {
    readonly secure: boolean;
    /** The calling site; `claimed` is the site id the message carries. */
    site(call: CallWithAuth, claimed: string, method: string): Caller;
    admin(call: CallWithAuth, method: string): Caller;
}
export declare function mtlsGatekeeper(deny: DenyList, log: Logger): Gatekeeper;
export declare function insecureGatekeeper(): Gatekeeper;
