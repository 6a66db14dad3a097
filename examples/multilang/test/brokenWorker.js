#!/usr/bin/env node
// A worker that breaks the protocol in the one way FLUSHER_BROKEN names, to show the fake daemon catches it. It
// answers every action with its status otherwise.
import { createInterface } from "node:readline"

const broken = process.env.FLUSHER_BROKEN
const write = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)

createInterface({ input: process.stdin }).on("line", (line) => {
  const { action } = JSON.parse(line)
  if (action === "checkpoint") return write({ action: "status", responseFor: "processRecords" })
  if (action === "initialize" && broken === "checkpointDuringInitialize") {
    return write({ action: "checkpoint", sequenceNumber: null, subSequenceNumber: null })
  }
  if (action === "processRecords") {
    switch (broken) {
      case "extraKey":
        return write({ action: "status", responseFor: action, shardId: "shardId-000000000007" })
      case "wrongStatus":
        return write({ action: "status", responseFor: "initialize" })
      case "logOnStdout":
        process.stdout.write("processing 3 records\n")
        break
      case "writeBetweenActions":
        // In one write, so that the fake daemon has both lines before it sends the next action.
        return process.stdout.write(
          `${JSON.stringify({ action: "status", responseFor: action })}\n` +
            `${JSON.stringify({ action: "checkpoint", sequenceNumber: "1", subSequenceNumber: 0 })}\n`
        )
      case "subSequenceNumberLeftOut":
        return write({ action: "checkpoint", sequenceNumber: "1" })
    }
  }
  write({ action: "status", responseFor: action })
})
