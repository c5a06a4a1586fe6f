import type { EventEmitter } from 'node:events';
import type { ChannelOptions } from '@grpc/grpc-js';
export interface TransportLimits {
    /** Largest single message accepted (bytes). Model transfers must be chunked below this. */
    readonly maxMessageBytes: number;
    /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
    readonly maxConcurrentStreams: number;
    /** Node http2 `maxSessionMemory` per connection, in MiB (grpc-js default is unlimited). */
    readonly maxSessionMemoryMiB: number;
    /** Interval between keepalive pings, and how long to wait for the ack. */
    readonly keepaliveTimeMs: number;
    readonly keepaliveTimeoutMs: number;
    /** Server closes connections without calls after this long. */
    readonly maxConnectionIdleMs: number;
}
export declare const DEFAULT_LIMITS: TransportLimits;
/** Options for `new grpc.Server(serverOptions())` on the coordinator. */
export declare function serverOptions(overrides?: Partial<TransportLimits>): ChannelOptions;
/** Options for the site agent's / admin CLI's client channel. */
export declare function clientOptions(overrides?: Partial<TransportLimits>): ChannelOptions;
/** Recommended client deadlines per kind of call. */
export declare const DEADLINES_MS: {
    /** Hello, heartbeat, admin commands. */
    readonly control: 30000;
    /** One chunk of a model download or update upload. */
    readonly chunk: 60000;
};
/** `{ deadline: deadlineAfter(DEADLINES_MS.control) }` as gRPC call options. */
export declare function deadlineAfter(ms: number): Date;
/** Caps the number of concurrent calls per party (keyed by certificate identity). */
export declare class CallLimiter {
    readonly maxPerParty: number;
    private readonly active;
    constructor(maxPerParty: number);
    /** Count a call for `party`; returns an idempotent release. Throws RESOURCE_EXHAUSTED when over the cap. */
    acquire(party: string): () => void;
    /** For streaming calls: acquire now, release when the call ends, is cancelled or fails. */
    hold(party: string, call: EventEmitter): void;
    /** Run `fn` under the cap (unary handlers). */
    run<T>(party: string, fn: () => Promise<T> | T): Promise<T>;
    inFlight(party: string): number;
}
