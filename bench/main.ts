/**
 * `pnpm bench [core|runtime|multilang]`: runs the named benchmarks (all by default) and prints their tables.
 * The last line printed is one JSON object holding every figure, so runs can be compared over time.
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

const results: Record<string, number> = {}
for (const name of requested.length > 0 ? requested : Object.keys(suites)) {
  Object.assign(results, await suites[name]())
}
process.stdout.write(`${JSON.stringify(results)}\n`)
