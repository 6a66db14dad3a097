/**
 * A worker whose code writes to stdout, as a careless dependency might: `runMain` must send all of it to stderr and
 * keep stdout for the protocol. The test launches it with `node --import tsx`.
 */
import { BatchingFlusher } from "@flusher/core"
import { BatchWriter } from "@flusher/runtime"
import { MultiLang } from "@flusher/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const noisyWriter = BatchWriter.make((request) =>
  Effect.sync(() => {
    // eslint-disable-next-line no-console -- the point of this worker: a write to stdout the worker did not make
    console.log(`wrote ${request.batchId}`)
  })
)

MultiLang.runMain(
  { flusher: BatchingFlusher.make({ maxRecords: 2 }) },
  Layer.succeed(BatchWriter.BatchWriter, noisyWriter)
)

// eslint-disable-next-line no-console -- as above
console.log("a stray line")
// Even a line that looks like a message must not reach the daemon.
process.stdout.write(`${JSON.stringify({ action: "status", responseFor: "initialize" })}\n`)
