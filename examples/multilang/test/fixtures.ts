import { assert } from "@effect/vitest"
import type { MultiLang } from "@flusher/core"
import { FakeDaemon } from "@flusher/testing"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** Our worker, as the daemon launches it: the executable alone. */
export const workerCommand = fileURLToPath(new URL("../bin/worker", import.meta.url))

/** A record processor on the official Node client, launched with node. */
export const kclCommand = `${process.execPath} ${fileURLToPath(new URL("./kclWorker.js", import.meta.url))}`

export const shardId = "shardId-000000000007"

/** A fresh directory for a session's batches. */
export const makeOutDir = (): string => mkdtempSync(join(tmpdir(), "flusher-multilang-"))

/** Small batches, quick flushes and a checkpoint after every write, so sessions take a fraction of a second. */
export const fastSettings = (outDir: string): Record<string, string> => ({
  FLUSHER_OUT_DIR: outDir,
  FLUSHER_BATCH_MAX_RECORDS: "10",
  FLUSHER_FLUSH_INTERVAL: "100 millis",
  FLUSHER_HEARTBEAT_INTERVAL: "50 millis",
  FLUSHER_CHECKPOINT_INTERVAL: "everyWrite",
  FLUSHER_CHECKPOINT_RETRY_INITIAL_DELAY: "20 millis"
})

/** Launches a worker with the fast settings writing to `outDir`. */
export const spawnWorker = (
  command: string,
  outDir: string,
  options: Partial<FakeDaemon.Options> = {}
): Effect.Effect<FakeDaemon.FakeDaemon, FakeDaemon.FakeDaemonError, Scope.Scope> =>
  FakeDaemon.spawn({
    executableName: command,
    // aws-kcl leaves subSequenceNumber out of its requests, which the daemon reads as null.
    keys: command === kclCommand ? "known" : "exact",
    timeout: "20 seconds",
    ...options,
    env: { ...fastSettings(outDir), ...options.env }
  })

// -----------------------------------------------------------------------------
// records
// -----------------------------------------------------------------------------

const prefix = "4959033827149025660855969253836157109592157598913"

/** The 56-digit sequence number of record `n`. */
export const sequenceNumberOf = (n: number): string => `${prefix}${n.toString().padStart(7, "0")}`

/** Record `n` as the daemon writes it. Records 10 and 11 have partition keys that are not ASCII. */
export const wireRecord = (n: number, fields: Partial<MultiLang.DaemonRecordEncoded> = {}) => ({
  action: "record" as const,
  data: Buffer.from(`record ${n}`).toString("base64"),
  partitionKey: n === 10 || n === 11 ? `clé-ключ-${n}` : `key-${n % 3}`,
  sequenceNumber: sequenceNumberOf(n),
  subSequenceNumber: 0,
  approximateArrivalTimestamp: 1_700_000_000_000 + n,
  ...fields
})

export const processRecords = (
  records: ReadonlyArray<MultiLang.DaemonRecordEncoded>
): MultiLang.ProcessRecordsEncoded => ({ action: "processRecords", records, millisBehindLatest: 0 })

/** Records `from` to `to` (excluded). */
export const recordsBetween = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => wireRecord(from + i))

export const initialize = (sequenceNumber: string | null = "TRIM_HORIZON"): MultiLang.InitializeEncoded => ({
  action: "initialize",
  shardId,
  sequenceNumber,
  subSequenceNumber: null
})

// -----------------------------------------------------------------------------
// sessions
// -----------------------------------------------------------------------------

/** The checkpoint requests of exchanges that were stored, in order. */
export const stored = (exchanges: ReadonlyArray<FakeDaemon.Exchange>) =>
  exchanges.flatMap((exchange) =>
    exchange.checkpoints.filter((checkpoint) => checkpoint.error === null).map((checkpoint) => checkpoint.request)
  )

/**
 * Unless a checkpoint at `sequenceNumber` was stored in the exchanges `before`, sends empty `processRecords`, as an
 * idle daemon does with `callProcessRecordsEvenForEmptyRecordList`, until one is. Returns every exchange, `before`
 * included. `replies` answer the requests of the first action that has some.
 */
export const idleUntilCheckpointed = (
  daemon: FakeDaemon.FakeDaemon,
  sequenceNumber: string,
  before: ReadonlyArray<FakeDaemon.Exchange> = [],
  replies?: FakeDaemon.Replies
): Effect.Effect<ReadonlyArray<FakeDaemon.Exchange>, FakeDaemon.FakeDaemonError> =>
  Effect.gen(function*() {
    const exchanges: Array<FakeDaemon.Exchange> = [...before]
    if (stored(exchanges).some((request) => request.sequenceNumber === sequenceNumber)) return exchanges
    for (let i = 0; i < 200; i++) {
      const exchange = yield* daemon.act(processRecords([]), {
        replies: exchanges.some((e) => e.checkpoints.length > 0) ? undefined : replies
      })
      exchanges.push(exchange)
      if (stored([exchange]).some((request) => request.sequenceNumber === sequenceNumber)) return exchanges
      yield* Effect.sleep("20 millis")
    }
    return assert.fail(`no checkpoint at ${sequenceNumber} was stored in 200 idle actions`)
  })

/**
 * Closes stdin and checks that the worker exits with `code` within `withinMillis`. The default, 5 seconds, leaves room
 * for a loaded machine and none for a worker that waits for its shutdown deadline (30 seconds).
 */
export const closeAndExpectExit = (daemon: FakeDaemon.FakeDaemon, code: number, withinMillis = 5000) =>
  Effect.gen(function*() {
    yield* daemon.closeInput
    const [elapsed, exited] = yield* Effect.timed(daemon.exited)
    assert.strictEqual(exited.code, code, `exit code ${exited.code}; stderr:\n${exited.stderr}`)
    assert.deepStrictEqual(exited.unread, [], "the worker wrote lines no action asked for")
    assert.isBelow(Duration.toMillis(elapsed), withinMillis, "the worker took too long to exit after stdin closed")
    return exited
  })

// -----------------------------------------------------------------------------
// output
// -----------------------------------------------------------------------------

/** A line of an output file. */
export interface OutputLine {
  readonly sequenceNumber: string
  readonly subSequenceNumber: number | null
  readonly partitionKey: string | null
  readonly data: string
  readonly aggregate?: { readonly index: number; readonly size: number }
  readonly approximateArrivalTimestamp?: number
}

/** Every record written for the shard, in order of position. */
export const readOutput = (outDir: string, shard: string = shardId): ReadonlyArray<OutputLine> => {
  const directory = join(outDir, shard)
  let files: Array<string>
  try {
    files = readdirSync(directory).filter((name) => name.endsWith(".ndjson"))
  } catch {
    return []
  }
  const lines = files.flatMap((name) =>
    readFileSync(join(directory, name), "utf8").split("\n").filter((line) => line !== "").map(
      (line) => JSON.parse(line) as OutputLine
    )
  )
  return lines.sort((a, b) =>
    compareDigits(a.sequenceNumber, b.sequenceNumber) ||
    (a.subSequenceNumber ?? 0) - (b.subSequenceNumber ?? 0) ||
    (a.aggregate?.index ?? 0) - (b.aggregate?.index ?? 0)
  )
}

const compareDigits = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

/** What the output should hold for records sent as the daemon writes them. */
export const expectedOutput = (records: ReadonlyArray<MultiLang.DaemonRecordEncoded>): ReadonlyArray<OutputLine> =>
  records.map((record) => ({
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber ?? null,
    partitionKey: record.partitionKey ?? null,
    data: record.data ?? "",
    ...(record.approximateArrivalTimestamp == null ?
      {} :
      { approximateArrivalTimestamp: record.approximateArrivalTimestamp })
  }))
