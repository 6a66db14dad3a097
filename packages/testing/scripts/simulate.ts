/**
 * `pnpm simulate -- --seeds 1000 [--from 1]`: runs the fault-injecting simulation (see `Simulation`) with many
 * seeds, and prints what it saw: runs, crashes, faults, duplicates, and every broken invariant with the seed that
 * replays it. Exits non-zero when any invariant broke.
 */
import { Simulation } from "@flusher/testing"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as TestContext from "effect/TestContext"
import { parseArgs } from "node:util"

const args = process.argv.slice(2)
const { values } = parseArgs({
  args: args[0] === "--" ? args.slice(1) : args,
  options: { seeds: { type: "string", default: "200" }, from: { type: "string", default: "1" } }
})
const count = Number(values.seeds)
const from = Number(values.from)

const program = Effect.gen(function*() {
  const totals = {
    runs: 0,
    crashes: 0,
    leasesLost: 0,
    failures: 0,
    duplicates: 0,
    maxDuplicates: 0,
    writeFailures: 0,
    throttled: 0
  }
  const broken: Array<string> = []
  const started = Date.now()
  for (let seed = from; seed < from + count; seed++) {
    const report = yield* Simulation.simulate({ seed })
    totals.runs += report.runs
    totals.crashes += report.crashes
    totals.leasesLost += report.faults.leasesLost
    totals.failures += report.failures.length
    totals.duplicates += report.duplicates
    totals.maxDuplicates = Math.max(totals.maxDuplicates, report.duplicates)
    totals.writeFailures += report.faults.writeFailures
    totals.throttled += report.faults.throttled
    for (const violation of report.violations) broken.push(`seed ${seed}: ${violation}`)
    if ((seed - from + 1) % 50 === 0) process.stdout.write(`${seed - from + 1} seeds simulated\n`)
  }
  process.stdout.write(
    `\n${count} simulations (seeds ${from} to ${from + count - 1}) in ${
      ((Date.now() - started) / 1000).toFixed(1)
    } s\n` +
      `shard runs: ${totals.runs}, crashes: ${totals.crashes}, leases lost on a checkpoint: ${totals.leasesLost}, ` +
      `runs failed and restarted: ${totals.failures}\n` +
      `write failures injected: ${totals.writeFailures}, checkpoints throttled: ${totals.throttled}\n` +
      `records written more than once: ${totals.duplicates} in all, ${(totals.duplicates / count).toFixed(1)} per ` +
      `simulation, at most ${totals.maxDuplicates} in one\n` +
      `broken invariants: ${broken.length}\n`
  )
  for (const line of broken) process.stdout.write(`  ${line}\n`)
  if (broken.length > 0) process.exitCode = 1
})

// The shards' own logs would drown the summary: the report says what matters.
Effect.runPromise(
  program.pipe(Effect.provide(TestContext.TestContext), Effect.provide(Logger.remove(Logger.defaultLogger)))
)
