import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type FederatedLearningServer, type StudyAdminServer, type StatusResponse } from '../shared/protocol/index.js';
import type { Gatekeeper } from './gatekeeper.js';
import type { SiteRegistry } from './site-registry.js';
import type { ModelStore } from './model-store.js';
import type { RoundEngine } from './round-engine.js';
import type { EventBus } from './events.js';
export interface ServiceDeps {
    readonly studyId: string;
    readonly allowedSites: readonly string[] | undefined;
    readonly gate: Gatekeeper;
    readonly sites: SiteRegistry;
    readonly store: ModelStore;
    readonly engine: RoundEngine;
    readonly events: EventBus;
    readonly log: Logger;
    readonly heartbeatIntervalMs: number;
    /** Model downloads (and, separately, uploads) served at the same time; the rest queue. */
    readonly maxConcurrentTransfers?: number;
    readonly admin: {
        status(): StatusResponse;
        start(): void;
        stop(): void;
    };
    /** Co-signatures of the study log arriving on site sessions. */
    readonly onCosignature?: (site: string, r: import('../shared/protocol/index.js').CosignResponse) => void;
    readonly evaluation?: {
        submit: FederatedLearningServer['submitEvaluation'];
        siteFailed(taskId: string, site: string, message: string): void;
    };
}
type StatusLike = {
    code: grpc.status;
    details: string;
};
/** Maps a thrown error to a gRPC status; unknown errors become INTERNAL without internals. */
export declare function toStatus(err: unknown, log: Logger): StatusLike;
export declare function federatedLearningImpl(deps: ServiceDeps): FederatedLearningServer;
export declare function studyAdminImpl(deps: ServiceDeps): StudyAdminServer;
/** Creates (not binds) the gRPC server with both services. */
export declare function createGrpcServer(deps: ServiceDeps, options: grpc.ChannelOptions): grpc.Server;
/** Binds and returns the port; enlarges HTTP/2 receive windows for fast uploads. */
export declare function bindServer(server: grpc.Server, address: string, creds: grpc.ServerCredentials, log: Logger): Promise<number>;
export {};
