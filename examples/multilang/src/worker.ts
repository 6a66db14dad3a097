/**
 * The example MultiLang worker: batches each shard's records with the batching flusher and writes every batch to an
 * NDJSON file, `<FLUSHER_OUT_DIR>/<shardId>/<batchId>.ndjson`, before checkpointing past it.
 *
 * The daemon launches it through `bin/worker`; it reads its settings from the environment it inherits:
 *
 *   FLUSHER_OUT_DIR               where batches go (default ./out, from the daemon's working directory)
 *   FLUSHER_BATCH_MAX_RECORDS     the most records in a batch (default 500)
 *   FLUSHER_BATCH_MAX_BYTES       the most bytes of data in a batch (default: no limit)
 *   FLUSHER_*                     the runtime's settings: FLUSHER_FLUSH_INTERVAL, FLUSHER_CHECKPOINT_INTERVAL…
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { BatchingFlusher } from "@flusher/core"
import { BatchWriter, MultiLang } from "@flusher/runtime"
import * as Layer from "effect/Layer"

const positiveInteger = (name: string): number | undefined => {
  const text = process.env[name]
  if (text === undefined || text === "") return undefined
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1) {
    // stderr, never stdout: stdout belongs to the protocol.
    process.stderr.write(`${name} must be a positive integer, got ${JSON.stringify(text)}\n`)
    process.exit(2)
  }
  return value
}

const flusher = BatchingFlusher.make({
  maxRecords: positiveInteger("FLUSHER_BATCH_MAX_RECORDS") ?? 500,
  maxBytes: positiveInteger("FLUSHER_BATCH_MAX_BYTES")
})

const writer = BatchWriter.layerNdjson({ directory: process.env.FLUSHER_OUT_DIR || "./out" }).pipe(
  Layer.provide(NodeContext.layer)
)

MultiLang.runMain({ flusher }, writer)
