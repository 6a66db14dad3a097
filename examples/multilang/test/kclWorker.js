#!/usr/bin/env node
// A record processor on the official Node client, aws-kcl, that behaves as the flusher worker does on the wire:
// it checkpoints what it processed, retries throttled checkpoints with backoff, gives up on ShutdownException,
// checkpoints the end of the shard, and stops on any other error. The tests run the shared transcripts against it to
// show that the fake daemon agrees with a real client; the benchmark measures it.
//
// With FLUSHER_OUT_DIR set, each batch of records is written to <FLUSHER_OUT_DIR>/<shardId>/<first>_<last>.ndjson,
// one line per record in the flusher worker's NDJSON form, before it is checkpointed.
import kcl from "aws-kcl"
import { Buffer } from "node:buffer"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { setTimeout } from "node:timers"

const outDir = process.env.FLUSHER_OUT_DIR
const retryDelayMillis = 20
const maxAttempts = 5

const lineOf = (record, data) => {
  let line = `{"sequenceNumber":${JSON.stringify(record.sequenceNumber)},` +
    `"subSequenceNumber":${JSON.stringify(record.subSequenceNumber ?? null)},` +
    `"partitionKey":${JSON.stringify(record.partitionKey ?? null)},"data":${JSON.stringify(data.toString("base64"))}`
  if (record.approximateArrivalTimestamp != null) {
    line += `,"approximateArrivalTimestamp":${record.approximateArrivalTimestamp}`
  }
  return `${line}}`
}

const checkpoint = (checkpointer, sequenceNumber, done, attempt = 1) => {
  checkpointer.checkpoint(sequenceNumber, (error) => {
    if (!error) return done()
    if ((error === "ThrottlingException" || error === "KinesisClientLibDependencyException") && attempt < maxAttempts) {
      const delay = retryDelayMillis * 2 ** (attempt - 1) * (0.5 + Math.random())
      return setTimeout(() => checkpoint(checkpointer, sequenceNumber, done, attempt + 1), delay)
    }
    if (error === "ShutdownException") return done()
    process.stderr.write(`The daemon refused the checkpoint at ${sequenceNumber}: ${error}\n`)
    process.exit(1)
  })
}

let shardId = "unknown"

kcl({
  initialize(input, done) {
    shardId = input.shardId
    done()
  },
  processRecords(input, done) {
    const records = input.records
    if (records.length === 0) return done()
    const decoded = records.map((record) => Buffer.from(record.data ?? "", "base64"))
    if (outDir !== undefined && outDir !== "") {
      const lines = records.map((record, i) => lineOf(record, decoded[i]))
      const directory = join(outDir, shardId)
      mkdirSync(directory, { recursive: true })
      const name = `${records[0].sequenceNumber}_${records[records.length - 1].sequenceNumber}.ndjson`
      writeFileSync(join(directory, name), `${lines.join("\n")}\n`)
    }
    checkpoint(input.checkpointer, records[records.length - 1].sequenceNumber, done)
  },
  leaseLost(_input, done) {
    done()
  },
  shardEnded(input, done) {
    checkpoint(input.checkpointer, null, done)
  },
  shutdownRequested(_input, done) {
    done()
  }
}).run()
