/**
 * The archiver example: `pnpm start -- --shards 4 --records 50000`, then `pnpm start -- --verify`.
 *
 *   --shards N    shards of the embedded source (default 4)
 *   --records N   records in each shard; the run ends when every shard has ended (default 50000)
 *   --rate N      records per second and per shard (default 20000)
 *   --out DIR     where batches and checkpoints go (default ./out)
 *   --verify      check the output against the checkpoints instead of running
 *
 * Ctrl-C shuts down gracefully: every shard flushes, writes and checkpoints. Running again resumes each shard
 * from its checkpoint. Settings of the runtime come from the environment (FLUSHER_FLUSH_INTERVAL…).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { parseArgs } from "node:util"
import { archive } from "./Archive.js"
import { verify } from "./Verify.js"

const args = process.argv.slice(2)
const { values } = parseArgs({
  args: args[0] === "--" ? args.slice(1) : args,
  options: {
    shards: { type: "string", default: "4" },
    records: { type: "string", default: "50000" },
    rate: { type: "string", default: "20000" },
    out: { type: "string", default: "./out" },
    verify: { type: "boolean", default: false }
  }
})

const positive = (name: string, text: string) => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`--${name} must be a positive integer, got ${text}\n`)
    process.exit(2)
  }
  return value
}

const program: Effect.Effect<void, unknown, NodeContext.NodeContext> = values.verify
  ? verify(values.out)
  : archive({
    shards: positive("shards", values.shards),
    records: positive("records", values.records),
    rate: positive("rate", values.rate),
    out: values.out,
    live: process.stdout.isTTY === true
  })

program.pipe(
  // The runtime logs each shard's start, stop and trouble; the progress table says the rest.
  Logger.withMinimumLogLevel(LogLevel.Warning),
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
