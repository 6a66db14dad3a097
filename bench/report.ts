/**
 * Shared pieces of the benchmarks: timing, the records every contender runs on, and the printed table.
 */
import { type SequenceNumber, type StreamRecord } from "@flusher/core"

/** Runs `body` once to warm up, then `rounds` times; the best rate counts (the least disturbed run). */
export const measure = async (rounds: number, records: number, body: () => unknown): Promise<number> => {
  let best = 0
  for (let round = 0; round <= rounds; round++) {
    const started = performance.now()
    await body()
    const seconds = (performance.now() - started) / 1000
    if (round > 0) best = Math.max(best, records / seconds)
  }
  return best
}

/** Runs contenders in turns, so that drift of the machine affects all alike; returns each one's best rate. */
export const sideBySide = async (
  rounds: number,
  records: number,
  contenders: Record<string, () => unknown>
): Promise<Record<string, number>> => {
  const best: Record<string, number> = {}
  for (const name of Object.keys(contenders)) {
    await contenders[name]() // warm-up
    best[name] = 0
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, body] of Object.entries(contenders)) {
      const started = performance.now()
      await body()
      best[name] = Math.max(best[name], records / ((performance.now() - started) / 1000))
    }
  }
  return best
}

// A 48-digit prefix and an 8-digit counter: 56-digit ascending sequence numbers, like Kinesis's.
const prefix = "495903382714902566085596925383615710959215759891"

/**
 * A sequence number as one flat string. A concatenation would be a rope, which V8 flattens (copying it) the first
 * time it is compared: the benchmark would then time and count that copy instead of the code under test.
 */
const sequenceNumberOf = (i: number): SequenceNumber.SequenceNumber =>
  Buffer.from(prefix + i.toString().padStart(8, "0"), "latin1").toString("latin1") as SequenceNumber.SequenceNumber

/** `count` small records in chunks of `chunkSize`, with 56-digit ascending sequence numbers. */
export const generateChunks = (
  count: number,
  chunkSize: number,
  options: { readonly dataSize?: number } = {}
): Array<Array<StreamRecord.StreamRecord>> => {
  const dataSize = options.dataSize ?? 100
  const payloads = Array.from({ length: 64 }, (_, i) => new Uint8Array(dataSize).fill(i))
  const partitionKeys = Array.from({ length: 1000 }, (_, i) => `user-${i}`)
  const chunks: Array<Array<StreamRecord.StreamRecord>> = []
  for (let start = 0; start < count; start += chunkSize) {
    const chunk: Array<StreamRecord.StreamRecord> = []
    for (let i = start; i < Math.min(count, start + chunkSize); i++) {
      chunk.push({
        partitionKey: partitionKeys[i % partitionKeys.length],
        data: payloads[i % payloads.length],
        sequenceNumber: sequenceNumberOf(i),
        subSequenceNumber: 0,
        aggregate: null,
        approximateArrivalTimestamp: null,
        millisBehindLatest: null
      })
    }
    chunks.push(chunk)
  }
  return chunks
}

const format = (value: number | string) =>
  typeof value === "string"
    ? value
    : value >= 100
    ? Math.round(value).toLocaleString("en-US")
    : value >= 0.1 || value === 0
    ? value.toFixed(2)
    : value.toFixed(3)

/** A table row: a contender's rate, and its ratio to each baseline rate, named. */
export const ratioRow = (contender: string, rate: number, baselines: Record<string, number>) => {
  const row: Record<string, number | string> = { contender, "records/s": rate }
  for (const [name, baseline] of Object.entries(baselines)) row[`x ${name}`] = rate / baseline
  return row
}

/** Prints rows as an aligned table. */
export const printTable = (title: string, rows: ReadonlyArray<Record<string, number | string>>) => {
  const columns = Object.keys(rows[0])
  const cells = rows.map((row) => columns.map((column) => format(row[column])))
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i].length)))
  const line = (values: ReadonlyArray<string>) =>
    values.map((value, i) => (i === 0 ? value.padEnd(widths[i]) : value.padStart(widths[i]))).join("  ")
  process.stdout.write(`\n${title}\n${line(columns)}\n${line(widths.map((w) => "-".repeat(w)))}\n`)
  for (const row of cells) process.stdout.write(`${line(row)}\n`)
}

/** Forces a full collection (the benchmarks run with --expose-gc) and returns the heap in use, in MiB. */
export const heapAfterCollection = (): number => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run the benchmarks with node --expose-gc (pnpm bench does)")
  collect()
  collect()
  return process.memoryUsage().heapUsed / (1024 * 1024)
}
