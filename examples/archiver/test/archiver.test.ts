import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { archive } from "../src/Archive.js"
import { verify, verifyShards } from "../src/Verify.js"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** Runs the archiver as a user does, in a child process; sends SIGINT once `interruptWhen` holds. */
const runArchiver = (args: ReadonlyArray<string>, interruptWhen?: () => boolean) =>
  Effect.async<{ readonly code: number | null; readonly output: string }>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (data) => (output += data))
    child.stderr.on("data", (data) => (output += data))
    const poll = interruptWhen === undefined ? undefined : setInterval(() => {
      if (interruptWhen()) {
        clearInterval(poll)
        child.kill("SIGINT")
      }
    }, 20)
    child.on("exit", (code) => {
      clearInterval(poll)
      resume(Effect.succeed({ code, output }))
    })
  })

describe("the archiver", () => {
  it.scopedLive("archives every shard to NDJSON files and verifies them", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped()
      yield* archive({ shards: 3, records: 2_500, rate: 100_000, out, live: false })
      const results = yield* verifyShards(out)
      assert.deepStrictEqual(
        results.map((r) => [r.checkpoint, r.expected, r.present, r.missing, r.corrupt]),
        [0, 1, 2].map(() => ["SHARD_END", 2_500, 2_500, 0, 0])
      )
      yield* verify(out)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("finds a checkpointed record that is missing, and a corrupt one", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped()
      yield* archive({ shards: 1, records: 1_500, rate: 100_000, out, live: false })
      const directory = `${out}/shardId-000000000000`
      const [first, second] = (yield* fs.readDirectory(directory)).filter((name) => name.endsWith(".ndjson")).sort()
      const lines = (yield* fs.readFileString(`${directory}/${first}`)).trimEnd().split("\n")
      yield* fs.writeFileString(`${directory}/${first}`, [...lines.slice(0, 41), ...lines.slice(42)].join("\n"))
      const secondLines = (yield* fs.readFileString(`${directory}/${second}`)).trimEnd().split("\n")
      secondLines[0] = secondLines[0].replace(/"data":"[^"]*"/, "\"data\":\"e30=\"")
      yield* fs.writeFileString(`${directory}/${second}`, secondLines.join("\n"))

      const [result] = yield* verifyShards(out)
      assert.deepStrictEqual([result.missing, result.firstMissing, result.corrupt], [2, 41, 1])
      const error = yield* Effect.flip(verify(out))
      assert.include(error.message, "2 checkpointed records missing, 1 corrupt")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("shuts down gracefully on SIGINT, and a resumed run continues and verifies", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped()
      const args = ["--shards", "2", "--records", "40000", "--rate", "4000", "--out", out]
      const interrupted = yield* runArchiver(args, () => existsSync(`${out}/checkpoints.json`))
      assert.strictEqual(interrupted.code, 0, interrupted.output)
      assert.include(interrupted.output, "ShutdownRequested")
      const partial = yield* verifyShards(out)
      assert.isTrue(partial.every((r) => r.missing === 0 && r.expected > 0 && r.expected < 40_000), interrupted.output)

      const resumed = yield* runArchiver([...args.slice(0, 4), "--rate", "200000", "--out", out])
      assert.strictEqual(resumed.code, 0, resumed.output)
      const results = yield* verifyShards(out)
      assert.deepStrictEqual(results.map((r) => [r.checkpoint, r.present, r.missing]), [
        ["SHARD_END", 40_000, 0],
        ["SHARD_END", 40_000, 0]
      ])
      const checked = yield* runArchiver(["--verify", "--out", out])
      assert.strictEqual(checked.code, 0, checked.output)
      assert.include(checked.output, "OK: every checkpointed record is present")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("exits non-zero when verification fails", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped()
      const checked = yield* runArchiver(["--verify", "--out", out])
      assert.notStrictEqual(checked.code, 0)
      assert.include(checked.output, "run the archiver first")
    }).pipe(Effect.provide(NodeContext.layer)))
})
