import { ResourceExhaustedError } from './grpc-errors.js';
const MiB = 1024 * 1024;
export const DEFAULT_LIMITS = {
    maxMessageBytes: 8 * MiB,
    maxConcurrentStreams: 16,
    maxSessionMemoryMiB: 64,
    keepaliveTimeMs: 60_000,
    keepaliveTimeoutMs: 20_000,
    maxConnectionIdleMs: 15 * 60_000,
};
/** Options for `new grpc.Server(serverOptions())` on the coordinator. */
export function serverOptions(overrides = {}) {
    const l = { ...DEFAULT_LIMITS, ...overrides };
    return {
        'grpc.max_receive_message_length': l.maxMessageBytes,
        'grpc.max_send_message_length': l.maxMessageBytes,
        'grpc.max_concurrent_streams': l.maxConcurrentStreams,
        'grpc-node.max_session_memory': l.maxSessionMemoryMiB,
        'grpc.keepalive_time_ms': l.keepaliveTimeMs,
        'grpc.keepalive_timeout_ms': l.keepaliveTimeoutMs,
        'grpc.max_connection_idle_ms': l.maxConnectionIdleMs,
    };
}
/** Options for the site agent's / admin CLI's client channel. */
export function clientOptions(overrides = {}) {
    const l = { ...DEFAULT_LIMITS, ...overrides };
    return {
        'grpc.max_receive_message_length': l.maxMessageBytes,
        'grpc.max_send_message_length': l.maxMessageBytes,
        // Pings keep NAT/firewall state alive on the site's outbound connection during long rounds;
        // keep the interval well above the server's so it never counts them as abusive.
        'grpc.keepalive_time_ms': Math.max(l.keepaliveTimeMs * 2, 60_000),
        'grpc.keepalive_timeout_ms': l.keepaliveTimeoutMs,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 1_000,
        'grpc.max_reconnect_backoff_ms': 30_000,
    };
}
/** Recommended client deadlines per kind of call. */
export const DEADLINES_MS = {
    /** Hello, heartbeat, admin commands. */
    control: 30_000,
    /** One chunk of a model download or update upload. */
    chunk: 60_000,
};
/** `{ deadline: deadlineAfter(DEADLINES_MS.control) }` as gRPC call options. */
export function deadlineAfter(ms) {
    return new Date(Date.now() + ms);
}
/** Caps the number of concurrent calls per party (keyed by certificate identity). */
export class CallLimiter {
    maxPerParty;
    active = new Map();
    constructor(maxPerParty) {
        this.maxPerParty = maxPerParty;
        if (!Number.isInteger(maxPerParty) || maxPerParty < 1)
            throw new Error(`maxPerParty must be a positive integer, got ${maxPerParty}`);
    }
    /** Count a call for `party`; returns an idempotent release. Throws RESOURCE_EXHAUSTED when over the cap. */
    acquire(party) {
        const n = this.active.get(party) ?? 0;
        if (n >= this.maxPerParty) {
            throw new ResourceExhaustedError(`"${party}" already has ${n} calls in progress (limit ${this.maxPerParty}); retry later`);
        }
        this.active.set(party, n + 1);
        let released = false;
        return () => {
            if (released)
                return;
            released = true;
            const m = (this.active.get(party) ?? 1) - 1;
            if (m <= 0)
                this.active.delete(party);
            else
                this.active.set(party, m);
        };
    }
    /** For streaming calls: acquire now, release when the call ends, is cancelled or fails. */
    hold(party, call) {
        const release = this.acquire(party);
        for (const ev of ['close', 'finish', 'cancelled', 'error'])
            call.once(ev, release);
    }
    /** Run `fn` under the cap (unary handlers). */
    async run(party, fn) {
        const release = this.acquire(party);
        try {
            return await fn();
        }
        finally {
            release();
        }
    }
    inFlight(party) {
        return this.active.get(party) ?? 0;
    }
}
//# sourceMappingURL=limits.js.map