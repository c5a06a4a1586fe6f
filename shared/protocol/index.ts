// The protocol package: the only code that imports the generated ts-proto types (./gen). Everything
// else speaks the domain types below; the conversion, the validation of JSON fields (both sides),
// the task builders and the typed gRPC client and server adapters live here.
export * from './types.js';
export { ProtocolError, type GrpcStatus } from './errors.js';
export {
  metricsSchema, strategyParamsSchema, modelConfigsSchema, modelSpecSchema, consistencyProofSchema, treeHeadSchema, evaluationAggregateSchema,
  MAX_AGGREGATE_JSON_BYTES, parseModelConfigs, parseEvaluationAggregate, encodeEvaluationAggregate,
} from './json-fields.js';
export { modelConfigsFor, buildTrainTask, buildEvaluateTask, buildFreezeNotice } from './tasks.js';
export {
  createFederationService, createStudyAdminService, addFederationServices, protocolStatus,
  type PeerCall, type Respond, type UnaryCall, type SiteSessionCall, type ModelDownloadCall, type ClientStreamCall, type UploadCall,
  type FederationHandlers, type StudyAdminHandlers,
} from './service.js';
export {
  connectFederation, connectStudyAdmin, isServiceError,
  type FederationClient, type UploadGoAhead, type SessionStream, type ModelDownloadStream, type UploadStream, type StudyAdminClient, type AdminCallOptions,
} from './client.js';
export {
  rawFederationClient, rawStudyAdminClient,
  type RawFederationClient, type RawStudyAdminClient, type WireSiteMessage, type WireCoordinatorMessage, type WireUploadMessage,
  type WireEvaluationReport, type WireTask,
} from './raw.js';
