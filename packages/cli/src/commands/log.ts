/** `pipe log`: the builds of this workspace, newest last. */
import { buildIsLive, listBuildIds, readBuildRecord, shellQuote } from '@pipe/core';
import type { GlobalOptions } from '../context.js';
import { countsText } from '../counts-text.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { workspaceFromCli } from './workspace.js';

export async function logCommand(opts: GlobalOptions & { limit?: number }): Promise<number> {
  const ws = workspaceFromCli(opts);
  if (!ws.ok) {
    process.stderr.write(`${ws.message}\n`);
    return EXIT_USAGE;
  }
  const ids = listBuildIds(ws.layout.buildsDir).slice(-(opts.limit ?? 20));
  const rows = [];
  const told = new Map<string, string>();
  for (const id of ids) {
    const got = readBuildRecord(ws.layout.buildsDir, id);
    if (!got.ok) {
      rows.push({ id, status: 'unreadable' });
      continue;
    }
    const r = got.record;
    rows.push({
      id,
      // A killed driver leaves "running" behind until the next build: say so.
      status: r.status === 'running' && !buildIsLive(ws.layout.lockFile, r.id) ? 'interrupted?' : r.status,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      ...(r.file ? { file: r.file } : {}),
      targets: r.targets,
      ...(r.config ? { config: r.config } : {}),
      ...(r.params && Object.keys(r.params).length > 0 ? { params: r.params } : {}),
      counts: r.counts,
    });
    // The counts as the build's end line said them (its tasks tell which cancelled ones never started).
    told.set(id, countsText(r.counts, Object.values(r.tasks)));
  }
  if (opts.json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    return 0;
  }
  if (rows.length === 0) process.stdout.write('no builds yet\n');
  for (const row of rows) {
    const counts = told.get(row.id) ?? '';
    // The command line that made the build, as far as it changes what was built: two builds of one target with
    // other --param values look alike otherwise.
    const targets =
      ('file' in row && row.file ? `-f ${shellWord(row.file)} ` : '') +
      ('targets' in row && row.targets ? row.targets.join(' ') : '') +
      ('config' in row && row.config ? ` --config ${shellWord(row.config)}` : '') +
      ('params' in row && row.params
        ? Object.entries(row.params)
            .map(([k, v]) => ` --param ${shellWord(`${k}=${v}`)}`)
            .join('')
        : '');
    process.stdout.write(
      `${row.id}  ${String(row.status).padEnd(11)} ${targets}${counts ? `  (${counts})` : ''}\n`,
    );
  }
  return 0;
}

/** A word as a shell would need it to read it back: quoted (core's shellQuote) when it holds anything but plain characters. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : shellQuote(word);
}
