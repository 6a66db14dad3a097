/**
 * `pnpm bench [core|runtime|multilang]`: runs the named benchmarks (all by default) and prints their tables.
 * The last line printed is one JSON object holding every figure, so runs can be compared over time: a suite's own
 * figures when one suite runs, each suite's under its name when several do.
 */
import { run as runCore } from "./core.js"

const suites: Record<string, () => Promise<Record<string, number>>> = {
  core: runCore,
  runtime: () => import("./runtime.js").then((suite) => suite.run()),
  multilang: () => import("./multilang.js").then((suite) => suite.run())
}

const requested = process.argv.slice(2).filter((arg) => arg !== "--")
const unknown = requested.filter((name) => !(name in suites))
if (unknown.length > 0) {
  process.stderr.write(`Unknown benchmark ${unknown.join(", ")}; choose among ${Object.keys(suites).join(", ")}\n`)
  process.exit(2)
}

// One suite: its figures, flat, as each suite documents them. Several: each suite's figures under its name, since
// suites share baseline names (stream_grouped…) that measure different records.
const names = requested.length > 0 ? requested : Object.keys(suites)
const results: Record<string, Record<string, number>> = {}
for (const name of names) results[name] = await suites[name]()
process.stdout.write(`${JSON.stringify(names.length === 1 ? results[names[0]] : results)}\n`)
