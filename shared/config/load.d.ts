import type { z } from 'zod';
export declare class ConfigError extends Error {
    readonly issues: string[];
    name: string;
    constructor(message: string, issues?: string[], options?: {
        cause?: unknown;
    });
}
/** Formats zod issues as `field.path: message` lines. */
export declare function formatIssues(error: z.ZodError): string[];
/** Validates an already-parsed value; `source` names the file or origin in messages. */
export declare function parseConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S>;
/** Reads a YAML (or JSON, which is YAML) config file and validates it. */
export declare function loadConfigFile<S extends z.ZodType>(schema: S, path: string): z.output<S>;
/** Resolves a path written in a config file relative to that file's folder. */
export declare function resolveFrom(configFile: string, path: string): string;
/** Resolves the ca/cert/key paths of a TLS kit section relative to its config file. */
export declare function resolveTls<T extends {
    ca: string;
    cert: string;
    key: string;
} | undefined>(configFile: string, tls: T): T;
