/**
 * An observation-list file (gammapy's `observations.obs_file`): gammapy reads it with
 * `Table.read(path, format="ascii", data_start=0).columns[0]` — the first column of a CSV or whitespace table,
 * `#` lines being comments. One leniency: a first row whose first cell is not a number is taken as a column
 * header (e.g. `OBS_ID`, or the header line of an ECSV file), where gammapy would fail with
 * "No matches found for key OBS_ID".
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
  let sawData = false;
  let header: { line: number; text: string } | undefined;
  for (let i = 0; i < rows.length; i++) {
    const line = rows[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const first = firstCell(line);
    // astropy reads a column of 23523.0 as floats, which select_obs_id matches all the same: an integral number is an id.
    const id = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(first) ? Number(first) : Number.NaN;
    if (!Number.isSafeInteger(id)) {
      if (!sawData && /^[A-Za-z_][\w-]*$/.test(first)) {
        sawData = true; // a column header
        header = { line: i + 1, text: first };
        continue;
      }
      return {
        ok: false,
        message: `${file}:${i + 1}: ${JSON.stringify(first)} is not an observation id (the first column must hold integer OBS_IDs)`,
      };
    }
    sawData = true;
    obsIds.push(id);
    lines.push(i + 1);
  }
  if (obsIds.length === 0)
    return {
      ok: false,
      message: header
        ? `${file}:${header.line}: ${JSON.stringify(header.text)} is not an observation id (read as a column header, and no id follows; one OBS_ID per line expected)`
        : `${file}: no observation id in the file (one OBS_ID per line expected)`,
    };
  return { ok: true, value: { obsIds, lines } };
}

/** The first cell of a CSV or whitespace-separated row, quotes removed. */
function firstCell(line: string): string {
  const cell = (line.split(/[,\s]/)[0] ?? '').trim();
  return cell.replace(/^["']|["']$/g, '');
}
