/**
 * `pnpm bench multilang`: records per second through the KCL MultiLang protocol, end to end. The fake daemon writes
 * `processRecords` lines of 10 000 records (100 bytes of data each, 56-digit sequence numbers) to a worker process,
 * answers its checkpoint requests, and waits for each status; a session ends with `shardEnded`, answered once every
 * record was written and the end of the shard checkpointed. Process start-up and two warm-up messages are not timed.
 *
 * Side by side, in turns:
 *
 * - the worker: `MultiLang.runMain` with the batching flusher (500 records a batch) and a writer that keeps nothing,
 *   so that the protocol and the runtime are measured, not a disk;
 * - aws-kcl: the official Node client, with the record processor of the example's tests, which decodes every record
 *   and checkpoints each batch;
 * - the bare worker: the least any worker does through the pipe, and so the ceiling of every worker measured here.
 *   It cuts stdin into lines as the worker does, parses each line, decodes every record's data and answers, but it
 *   checks nothing, keeps nothing, batches nothing and checkpoints only the end of the shard;
 * - the floor: `JSON.parse` of the same lines and base64 decoding of every record's data, in-process.
 *
 * The worker and the bare worker run from this very file: the fake daemon launches it with `FLUSHER_BENCH_ROLE` set.
 */
import { BatchingFlusher, type MultiLang as Protocol } from "@flusher/core"
import { BatchWriter, MultiLang } from "@flusher/runtime"
import { FakeDaemon } from "@flusher/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { isAscii } from "node:buffer"
import { fileURLToPath } from "node:url"
import { generateChunks, printTable, ratioRow } from "./report.js"

const roleVariable = "FLUSHER_BENCH_ROLE"

/** Speaks just enough of the protocol for the benchmark's sessions, as cheaply as JavaScript allows. */
const bareWorker = () => {
  const reply = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`)
  let ending = false
  const onLine = (line: string) => {
    const message = JSON.parse(line) as {
      readonly action: string
      readonly records?: ReadonlyArray<Protocol.DaemonRecordEncoded>
    }
    switch (message.action) {
      case "processRecords": {
        for (const record of message.records ?? []) Buffer.from(record.data ?? "", "base64")
        return reply({ action: "status", responseFor: "processRecords" })
      }
      case "shardEnded":
        ending = true
        return reply({ action: "checkpoint", sequenceNumber: null, subSequenceNumber: null })
      case "checkpoint":
        return reply({ action: "status", responseFor: ending ? "shardEnded" : "processRecords" })
      default:
        return reply({ action: "status", responseFor: message.action })
    }
  }
  let pending: Array<Buffer> = []
  process.stdin.on("data", (chunk: Buffer) => {
    let start = 0
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, end))
      const bytes = pending.length === 1 ? pending[0] : Buffer.concat(pending)
      pending = []
      onLine(bytes.toString(isAscii(bytes) ? "latin1" : "utf8"))
      start = end + 1
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
  })
}

switch (process.env[roleVariable]) {
  case "worker":
    MultiLang.runMain(
      { flusher: BatchingFlusher.make({ maxRecords: 500 }) },
      Layer.succeed(BatchWriter.BatchWriter, BatchWriter.make(() => Effect.void))
    )
    break
  case "bare":
    bareWorker()
    break
}

const recordsPerMessage = 10_000
const messages = 20
const warmUpMessages = 2
const rounds = 3

const shardId = "shardId-000000000000"

/** The `processRecords` messages, encoded once: the daemon's encoding is the same for every contender. */
const makeMessages = (count: number): ReadonlyArray<FakeDaemon.Prepared> =>
  generateChunks(count * recordsPerMessage, recordsPerMessage).map((chunk) => {
    const records: Array<Protocol.DaemonRecordEncoded> = chunk.map((record) => ({
      action: "record",
      data: Buffer.from(record.data).toString("base64"),
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: 0,
      approximateArrivalTimestamp: 1_700_000_000_000
    }))
    return FakeDaemon.prepare({ action: "processRecords", records, millisBehindLatest: 0 })
  })

/** One session through the fake daemon; the rate of the timed part, in records per second. */
const session = (
  executableName: string,
  env: Record<string, string>,
  keys: "exact" | "known",
  warmUp: ReadonlyArray<FakeDaemon.Prepared>,
  timed: ReadonlyArray<FakeDaemon.Prepared>
): Promise<number> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const daemon = yield* FakeDaemon.spawn({ executableName, env, keys, timeout: "2 minutes" })
    yield* daemon.act({ action: "initialize", shardId, sequenceNumber: "TRIM_HORIZON", subSequenceNumber: null })
    for (const message of warmUp) yield* daemon.act(message)

    const started = performance.now()
    for (const message of timed) yield* daemon.act(message)
    yield* daemon.act({ action: "shardEnded" })
    const seconds = (performance.now() - started) / 1000

    yield* daemon.closeInput
    const exited = yield* daemon.exited
    if (exited.code !== 0) {
      return yield* Effect.dieMessage(`${executableName} exited with ${exited.code}: ${exited.stderr}`)
    }
    return (timed.length * recordsPerMessage) / seconds
  })))

/** The floor: what any worker does at the least, parse each line and decode each record's data. */
const floor = (lines: ReadonlyArray<string>): number => {
  let bytes = 0
  for (const line of lines) {
    const message = JSON.parse(line) as { readonly records: ReadonlyArray<{ readonly data: string }> }
    for (const record of message.records) bytes += Buffer.from(record.data, "base64").length
  }
  return bytes
}

export const run = async () => {
  process.stdout.write(`encoding ${messages + warmUpMessages} messages of ${recordsPerMessage} records…\n`)
  const all = makeMessages(messages + warmUpMessages)
  const warmUp = all.slice(0, warmUpMessages)
  const timed = all.slice(warmUpMessages)
  const lines = all.map((message) => message.line)
  const records = messages * recordsPerMessage

  const thisFile = fileURLToPath(import.meta.url)
  const tsx = import.meta.resolve("tsx")
  const kclWorker = fileURLToPath(new URL("../examples/multilang/test/kclWorker.js", import.meta.url))
  const contenders: Record<string, () => Promise<number>> = {
    worker: () =>
      session(`${process.execPath} --import ${tsx} ${thisFile}`, { [roleVariable]: "worker" }, "exact", warmUp, timed),
    aws_kcl: () => session(`${process.execPath} ${kclWorker}`, {}, "known", warmUp, timed),
    bare: () =>
      session(`${process.execPath} --import ${tsx} ${thisFile}`, { [roleVariable]: "bare" }, "exact", warmUp, timed),
    floor: () => {
      floor(lines.slice(0, warmUpMessages))
      const started = performance.now()
      floor(lines.slice(warmUpMessages))
      return Promise.resolve(records / ((performance.now() - started) / 1000))
    }
  }

  const best: Record<string, number> = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, contender] of Object.entries(contenders)) {
      best[name] = Math.max(best[name] ?? 0, await contender())
    }
  }
  const result = {
    worker: Math.round(best.worker),
    floor: Math.round(best.floor),
    aws_kcl: Math.round(best.aws_kcl)
  }
  const bare = Math.round(best.bare)
  const row = (name: string, rate: number) =>
    ratioRow(name, rate, { floor: result.floor, "aws-kcl": result.aws_kcl, bare })
  printTable(
    `multilang: records per second through the protocol (best of ${rounds}; ${messages} processRecords of ` +
      `${recordsPerMessage} records, 100 bytes each, then shardEnded)`,
    [
      row("worker (MultiLang.runMain, batching flusher)", result.worker),
      row("aws-kcl (official Node client)", result.aws_kcl),
      row("bare worker (parse, decode, answer; no checks)", bare),
      row("floor (JSON.parse + base64, in-process)", result.floor)
    ]
  )
  printTable("multilang: targets", [
    { target: "worker >= 0.5 x floor", measured: result.worker / result.floor },
    { target: "worker >= 2 x aws-kcl", measured: result.worker / result.aws_kcl },
    // No worker that checks and batches can beat the bare worker: a target above these ratios is out of any's reach.
    { target: "(ceiling) bare worker / floor", measured: bare / result.floor },
    { target: "(ceiling) bare worker / aws-kcl", measured: bare / result.aws_kcl }
  ])
  return result
}
