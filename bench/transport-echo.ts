// The ceiling grpc-js itself sets for the transport bench: a client stream of raw bytes messages
// (identity serializers: no protobuf, no checks, no spooling), each only counted by the server.
import type * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

export const echoDefinition = {
  upload: {
    path: '/bench.Echo/Upload', requestStream: true, responseStream: false, originalName: 'upload',
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;
