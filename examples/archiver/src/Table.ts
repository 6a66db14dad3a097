/** Formats rows of text as an aligned table: the first column to the left, the others to the right. */
export const table = (rows: ReadonlyArray<Record<string, string>>): string => {
  if (rows.length === 0) return ""
  const columns = Object.keys(rows[0])
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map((row) => line(columns.map((c) => row[c])))]
    .join("\n")
}
