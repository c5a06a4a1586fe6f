import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { type Logger } from '../util/log.js';
export interface TlsKitFiles {
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
}
export declare class TlsConfigError extends Error {
    name: string;
}
interface LoadedKit {
    ca: Buffer;
    cert: Buffer;
    key: Buffer;
}
/** Read the kit and fail early, naming the file, on problems the handshake would report obscurely. */
export declare function loadTlsKit(kit: TlsKitFiles, log?: Logger, now?: Date): LoadedKit;
/** Coordinator side: TLS with a mandatory client certificate signed by the study CA. */
export declare function serverCredentials(kit: TlsKitFiles, log?: Logger): ServerCredentials;
/** Site/admin side: TLS that verifies the coordinator against the study CA and presents the kit's certificate. */
export declare function clientCredentials(kit: TlsKitFiles, log?: Logger): ChannelCredentials;
/** Plain-text server (only behind an explicit --insecure flag). */
export declare function insecureServerCredentials(log?: Logger): ServerCredentials;
/** Plain-text client (only behind an explicit --insecure flag). */
export declare function insecureClientCredentials(log?: Logger): ChannelCredentials;
/**
 * A sentence for the operator when a call fails before reaching the coordinator. With TLS 1.3
 * the server's refusal of a client certificate reaches grpc-js only as a dropped connection,
 * so the explanation lists the causes. Returns null for errors that are not connection failures.
 */
export declare function explainConnectionError(err: {
    code?: number;
    details?: string;
}, target: string): string | null;
export {};
