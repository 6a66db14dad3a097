import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")

describe("the README", () => {
  it("shows the guide's test file verbatim, so the two cannot drift apart", () => {
    assert.include(read("../README.md"), "```ts\n" + read("./guide.test.ts") + "```\n")
  })
})
