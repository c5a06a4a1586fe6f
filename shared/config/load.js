// Loading YAML/JSON configs through a zod schema, with errors that name the file and field.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
export class ConfigError extends Error {
    issues;
    name = 'ConfigError';
    constructor(message, issues = [message], options) {
        super(message, options);
        this.issues = issues;
    }
}
/** Formats zod issues as `field.path: message` lines. */
export function formatIssues(error) {
    return error.issues.map((issue) => {
        const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
        return `${path}: ${issue.message}`;
    });
}
/** Validates an already-parsed value; `source` names the file or origin in messages. */
export function parseConfig(schema, value, source) {
    const result = schema.safeParse(value);
    if (!result.success) {
        const issues = formatIssues(result.error);
        throw new ConfigError(`${source}: invalid configuration:\n  ${issues.join('\n  ')}`, issues.map((i) => `${source}: ${i}`));
    }
    return result.data;
}
/** Reads a YAML (or JSON, which is YAML) config file and validates it. */
export function loadConfigFile(schema, path) {
    let text;
    try {
        text = readFileSync(path, 'utf8');
    }
    catch (err) {
        throw new ConfigError(`${path}: cannot read config file (${err.code ?? String(err)})`, undefined, { cause: err });
    }
    let value;
    try {
        value = parseYaml(text);
    }
    catch (err) {
        throw new ConfigError(`${path}: not valid YAML: ${err.message}`, undefined, { cause: err });
    }
    return parseConfig(schema, value, path);
}
/** Resolves a path written in a config file relative to that file's folder. */
export function resolveFrom(configFile, path) {
    return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}
/** Resolves the ca/cert/key paths of a TLS kit section relative to its config file. */
export function resolveTls(configFile, tls) {
    if (!tls)
        return tls;
    return { ...tls, ca: resolveFrom(configFile, tls.ca), cert: resolveFrom(configFile, tls.cert), key: resolveFrom(configFile, tls.key) };
}
//# sourceMappingURL=load.js.map