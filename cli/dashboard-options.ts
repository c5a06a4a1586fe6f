// `--http HOST:PORT` and `--http-token` of `fl coordinator` and `fl demo`, merged over the config
// file's `coordinator.http` and validated with the same schema (exit 2 with the field on a mistake).
import { httpSchema, type HttpConfig } from '../shared/config/study.js';
import { CliError } from './errors.js';

export function dashboardConfig(fromFile: HttpConfig | undefined, listen: string | undefined, token: string | undefined): HttpConfig | undefined {
  if (listen === undefined && token === undefined) return fromFile;
  if (listen === undefined && !fromFile) throw new CliError('--http-token needs --http HOST:PORT (or coordinator.http.listen in the config)', 2);
  const r = httpSchema.safeParse({
    listen: listen ?? `${fromFile!.listen.host.includes(':') ? `[${fromFile!.listen.host}]` : fromFile!.listen.host}:${fromFile!.listen.port}`,
    ...(token ?? fromFile?.token ? { token: token ?? fromFile?.token } : {}),
  });
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const flag = issue.path[0] === 'token' ? '--http-token' : '--http';
    throw new CliError(`${flag}: ${issue.message}`, 2);
  }
  return r.data;
}
