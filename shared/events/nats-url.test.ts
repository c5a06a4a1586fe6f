import { describe, expect, it } from 'vitest';
import { natsServerOptions } from './nats-url.js';

describe('natsServerOptions', () => {
  it('moves user and password out of the URL', () => {
    expect(natsServerOptions('tls://fl-coordinator:s%40cret@nats.example.org:4222')).toEqual({ servers: 'tls://nats.example.org:4222', user: 'fl-coordinator', pass: 's@cret' });
    expect(natsServerOptions('nats://127.0.0.1:4222')).toEqual({ servers: 'nats://127.0.0.1:4222' });
    expect(natsServerOptions('127.0.0.1:4222')).toEqual({ servers: '127.0.0.1:4222' });
  });
});
