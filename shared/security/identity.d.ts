import 'reflect-metadata';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from '../util/log.js';
import { type PartyRole } from './certs.js';
import { DenyList } from './fingerprint.js';
export interface PeerIdentity {
    readonly role: PartyRole;
    readonly name: string;
    /** SHA-256 of the DER certificate, 64 lowercase hex digits. */
    readonly fingerprint: string;
    readonly notAfter: Date;
}
/** The part of a grpc-js server call we need (`ServerUnaryCall`, `ServerDuplexStream`, …). */
export interface CallWithAuth {
    getAuthContext(): {
        transportSecurityType?: string;
        sslPeerCertificate?: PeerCertificate;
    } | null;
}
/**
 * The authenticated party behind a server call. Throws UnauthenticatedError (gRPC
 * UNAUTHENTICATED) when the call did not come over mutual TLS with a party certificate.
 */
export declare function peerIdentity(call: CallWithAuth): PeerIdentity;
/** Throws PermissionDeniedError unless the identity has one of the roles. */
export declare function requireRole(identity: PeerIdentity, ...roles: PartyRole[]): PeerIdentity;
export interface AuthorizePolicy {
    /** Roles allowed to call; empty or absent means any party. */
    readonly roles?: readonly PartyRole[];
    readonly deny?: DenyList;
    readonly log?: Logger;
    /** Method name for the log. */
    readonly method?: string;
}
/**
 * Identity + revocation + role check in one call, logging each refusal:
 * `const who = authorize(call, { roles: ['admin'], deny, log, method: 'StartRound' })`.
 */
export declare function authorize(call: CallWithAuth, policy?: AuthorizePolicy): PeerIdentity;
/**
 * A message field naming a site (e.g. `site_id`) must name the caller itself. A mismatch is an
 * impersonation attempt: logged and refused with PERMISSION_DENIED.
 */
export declare function assertClaimedSite(identity: PeerIdentity, claimed: string, log?: Logger, field?: string): void;
