// The gather step of the line-counts example: one table row per sorted file, with its number of lines.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

export default {
  name: 'report',
  version: '1',
  run(ctx) {
    const lines = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
    const rows = ctx.inputs.tables.map((file) => `| ${basename(file)} | ${lines(file)} |`);
    const table = [`# ${ctx.params.title}`, '', '| file | lines |', '| --- | --- |', ...rows, ''];
    writeFileSync(ctx.outputs.report, table.join('\n'));
  },
};
