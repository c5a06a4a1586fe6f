// Loading YAML/JSON configs through a zod schema, with errors that name the file and field.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { FlError } from '../errors/index.js';

export class ConfigError extends FlError {
  constructor(message: string, readonly issues: string[] = [message], options?: { cause?: unknown }) {
    super('config.invalid', message, options);
  }
}

/** Formats zod issues as `field.path: message` lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
}

/** Validates an already-parsed value; `source` names the file or origin in messages. */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`${source}: invalid configuration:\n  ${issues.join('\n  ')}`, issues.map((i) => `${source}: ${i}`));
  }
  return result.data;
}

/** Reads a YAML (or JSON, which is YAML) config file and validates it. */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, undefined, { cause: err });
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`, undefined, { cause: err });
  }
  return parseConfig(schema, value, path);
}

/** Resolves a path written in a config file relative to that file's folder. */
export function resolveFrom(configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}

/** Resolves the ca/cert/key paths of a TLS kit section relative to its config file. */
export function resolveTls<T extends { ca: string; cert: string; key: string } | undefined>(configFile: string, tls: T): T {
  if (!tls) return tls;
  return { ...tls, ca: resolveFrom(configFile, tls.ca), cert: resolveFrom(configFile, tls.cert), key: resolveFrom(configFile, tls.key) };
}
