// Minimal RFC 4180 CSV reader: header row, quoted fields with "" escapes, CRLF or LF.
// Returns one record per data row (header -> cell); a row with a different cell count is an error.

export function parseCsv(text: string, source = 'CSV'): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      rows.push(row); row = [];
    } else field += ch;
  }
  if (quoted) throw new Error(`${source}: unterminated quoted field`);
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  const nonEmpty = rows.map((r, k) => ({ r, line: k + 1 })).filter((x) => !(x.r.length === 1 && x.r[0]!.trim() === ''));
  if (nonEmpty.length === 0) throw new Error(`${source}: empty file (no header)`);
  const header = nonEmpty[0]!.r.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new Error(`${source}: duplicate column "${h}" in the header`);
    seen.add(h);
  }
  return nonEmpty.slice(1).map(({ r, line }) => {
    if (r.length !== header.length) throw new Error(`${source} line ${line}: ${r.length} cells, the header has ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h, r[k]!]));
  });
}
