import { type JetStreamManager, type StreamConfig } from 'nats';
import type { Logger } from '../shared/util/log.js';
import type { EventBus, StudyEvent } from './events.js';
/** Subject of one event type: `fl.<study>.events.<type>` ("." in the study id becomes "_"). */
export declare function eventSubject(study: string, type: StudyEvent['type']): string;
/** All event subjects of a study: `fl.<study>.events.>`. */
export declare function eventsSubjectFilter(study: string): string;
/** `FL_<study>_EVENTS`, with "." and "-" mapped to "_". */
export declare function eventsStreamName(study: string): string;
/** Limits of the events stream; the oldest messages are discarded beyond them. */
export interface EventStreamLimits {
    /** Default 30 days. */
    readonly maxAgeMs: number;
    /** Default 256 MiB. */
    readonly maxBytes: number;
    /** Default 1,000,000. */
    readonly maxMsgs: number;
    /** Largest single event; default 1 MiB. */
    readonly maxMsgSize: number;
    /** Window in which a re-published Nats-Msg-Id is de-duplicated; default 2 minutes. */
    readonly duplicateWindowMs: number;
}
export declare const DEFAULT_STREAM_LIMITS: EventStreamLimits;
/** The stream configuration this publisher maintains. */
export declare function eventsStreamConfig(study: string, limits?: EventStreamLimits): Partial<StreamConfig> & {
    name: string;
};
/**
 * Creates the stream, or updates the limits of an existing one that differ (idempotent).
 * Storage and retention cannot change on a live stream; a mismatch there is reported, not fixed.
 */
export declare function ensureEventsStream(jsm: JetStreamManager, study: string, limits?: EventStreamLimits): Promise<'created' | 'updated' | 'unchanged'>;
/** The JSON body of one event message. */
export type EventMessage = StudyEvent & {
    time: number;
    study: string;
    seq: number;
    publisher: string;
};
export interface NatsEventPublisherOptions {
    readonly url: string;
    readonly studyId: string;
    readonly events: EventBus;
    readonly log: Logger;
    /** Events held while NATS is unreachable (default 10,000); beyond it the oldest are dropped. */
    readonly bufferSize?: number;
    /** Per-request timeout (default 2000 ms). */
    readonly timeoutMs?: number;
    /** Longest wait between connection attempts (default 2000 ms). */
    readonly maxRetryMs?: number;
    /** Publishes awaiting acknowledgement at once (default 64). */
    readonly window?: number;
    readonly limits?: Partial<EventStreamLimits>;
}
export interface NatsEventPublisherStatus {
    readonly connected: boolean;
    /** Events acknowledged by the stream. */
    readonly published: number;
    /** Events waiting in the buffer. */
    readonly pending: number;
    /** Events dropped because the buffer was full. */
    readonly dropped: number;
    readonly lastError: string | null;
}
export interface NatsEventPublisher {
    readonly stream: string;
    status(): NatsEventPublisherStatus;
    /** Resolves true once every event received so far is acknowledged, false on timeout. */
    flush(timeoutMs: number): Promise<boolean>;
    /** Stops listening, tries to deliver what is buffered for up to `timeoutMs` (default 2000), disconnects. */
    close(timeoutMs?: number): Promise<void>;
}
/** Starts publishing the bus's events to NATS JetStream; returns at once (connection is in the background). */
export declare function startNatsEventPublisher(opts: NatsEventPublisherOptions): NatsEventPublisher;
