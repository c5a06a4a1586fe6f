import { z } from 'zod';
/** Paths of a party's startup kit (see `fl provision`). */
export const tlsKitSchema = z.strictObject({
    ca: z.string().min(1).describe('CA certificate (PEM)'),
    cert: z.string().min(1).describe('this party\'s certificate (PEM)'),
    key: z.string().min(1).describe('this party\'s private key (PEM)'),
});
//# sourceMappingURL=tls.js.map