// Secure aggregation (Bonawitz et al. 2017): see README.md in this folder.
export * from './params.js';
export * from './quantize.js';
export * from './messages.js';
export { Session, sessionSchema, DEFAULT_CHUNK_ELEMENTS, type SessionInput } from './session.js';
export { SecAggClient, fillFromFloats, fillFromRing, type ClientOptions } from './client.js';
export { SecAggServer, type SecAggResult, type ServerOptions } from './server.js';
export { unmaskChunks, unmaskSum, type MaskedReader, type UnmaskInputs } from './unmask.js';
export { replayUnmask } from './replay.js';
export * from './envelope.js';
