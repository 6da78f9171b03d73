/**
 * An observation-list file (gammapy's `observations.obs_file`): gammapy reads it with
 * `Table.read(path, format="ascii", data_start=0).columns[0]` — the first column of a CSV or whitespace table,
 * `#` lines being comments. With `data_start=0` every other line is data, a column header too (`OBS_ID`, or the header
 * line of an ECSV file): gammapy then fails ("No matches found for key OBS_ID"), and such a line is refused here,
 * saying so, as any cell that is not an id.
 */

/** The run ids of the file, in file order, with the line each came from (1-based). */
export interface ObsList {
  obsIds: number[];
  lines: number[];
}

export type ObsListResult = { ok: true; value: ObsList } | { ok: false; message: string };

/** Parse the text of an observation-list file; `file` names it in errors. */
export function parseObsList(text: string, file: string): ObsListResult {
  const obsIds: number[] = [];
  const lines: number[] = [];
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const line = rows[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const first = firstCell(line);
    // astropy reads a column of 23523.0 as floats, which select_obs_id matches all the same: an integral number is an id.
    const id = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(first) ? Number(first) : Number.NaN;
    if (!Number.isSafeInteger(id)) {
      // A word before any id reads as a column header; gammapy reads it as a run id all the same.
      const header = obsIds.length === 0 && /^[A-Za-z_][\w-]*$/.test(first);
      return {
        ok: false,
        message: header
          ? `${file}:${i + 1}: ${JSON.stringify(first)} is not an observation id: gammapy 1.0 reads every line of the file as a run id, a column header too (Table.read(format="ascii", data_start=0)), and fails on it ("No matches found for key ${first}"); remove the header line`
          : `${file}:${i + 1}: ${JSON.stringify(first)} is not an observation id (the first column must hold integer OBS_IDs)`,
      };
    }
    obsIds.push(id);
    lines.push(i + 1);
  }
  if (obsIds.length === 0)
    return { ok: false, message: `${file}: no observation id in the file (one OBS_ID per line expected)` };
  return { ok: true, value: { obsIds, lines } };
}

/** The first cell of a CSV or whitespace-separated row, quotes removed. */
function firstCell(line: string): string {
  const cell = (line.split(/[,\s]/)[0] ?? '').trim();
  return cell.replace(/^["']|["']$/g, '');
}
