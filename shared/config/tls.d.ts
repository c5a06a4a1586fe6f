import { z } from 'zod';
/** Paths of a party's startup kit (see `fl provision`). */
export declare const tlsKitSchema: z.ZodObject<{
    ca: z.ZodString;
    cert: z.ZodString;
    key: z.ZodString;
}, z.core.$strict>;
export type TlsKitConfig = z.output<typeof tlsKitSchema>;
