// Low-level access for hostile-client tests only (test/): a generated client that can send what the
// domain encoders refuse to build (empty oneofs, malformed JSON fields, oversize chunks), and the
// wire shapes it speaks. Product code uses connectFederation / connectStudyAdmin.
import type * as grpc from '@grpc/grpc-js';
import { FederatedLearningClient, StudyAdminClient } from './gen/fl/v1/federation.js';

export type {
  FederatedLearningClient as RawFederationClient, StudyAdminClient as RawStudyAdminClient,
  SiteMessage as WireSiteMessage, CoordinatorMessage as WireCoordinatorMessage, UploadMessage as WireUploadMessage,
  EvaluationReport as WireEvaluationReport, Task as WireTask,
} from './gen/fl/v1/federation.js';

export function rawFederationClient(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): FederatedLearningClient {
  return new FederatedLearningClient(address, credentials, options);
}

export function rawStudyAdminClient(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): StudyAdminClient {
  return new StudyAdminClient(address, credentials, options);
}
