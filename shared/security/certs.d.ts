import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
type CryptoKey = webcrypto.CryptoKey;
export type PartyRole = 'site' | 'admin';
/** Party names become DNS-label-like path segments, DN values and URI paths: keep them boring. */
export declare const PARTY_NAME_RE: RegExp;
export declare const STUDY_NAME_RE: RegExp;
export interface KeyedCertificate {
    readonly cert: x509.X509Certificate;
    readonly privateKey: CryptoKey;
}
export interface Validity {
    readonly notBefore: Date;
    readonly notAfter: Date;
}
export declare function partyUri(role: PartyRole, name: string): string;
export declare function createCa(opts: {
    study: string;
} & Validity): Promise<KeyedCertificate>;
export type LeafSpec = {
    readonly kind: 'party';
    readonly role: PartyRole;
    readonly name: string;
} | {
    readonly kind: 'server';
    readonly hosts: readonly string[];
};
export declare function issueCert(ca: KeyedCertificate, spec: LeafSpec, opts: {
    study: string;
} & Validity): Promise<KeyedCertificate>;
export declare function certPem(c: KeyedCertificate | x509.X509Certificate): string;
export declare function privateKeyPem(c: KeyedCertificate): Promise<string>;
/** Re-open a CA from its PEM certificate and PKCS#8 PEM key (as written by provisioning). */
export declare function loadCa(certPemText: string, keyPemText: string): Promise<KeyedCertificate>;
export {};
