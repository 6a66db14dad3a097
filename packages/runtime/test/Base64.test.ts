import { assert, describe, it } from "@effect/vitest"
import { MultiLang } from "@flusher/core"
import * as fc from "effect/FastCheck"
import { decodeStandardBase64 } from "../src/internal/base64.js"

// Text close to base64: its alphabet, the URL-safe one, padding anywhere, spaces, line breaks and non-ASCII.
const nearlyBase64 = fc.array(
  fc.constantFrom(..."ABCXYZabcxyz0189+/=-_ \n\u00e9\u20ac".split("")),
  { maxLength: 24 }
).map((chars) => chars.join(""))

describe("the worker's base64 decoder", () => {
  it.prop("refuses exactly what the protocol's check refuses", [nearlyBase64], ([text]) => {
    const decoded = decodeStandardBase64(text)
    const problem = MultiLang.validateBase64(text)
    assert.strictEqual(decoded === undefined, problem !== undefined, JSON.stringify(text))
  }, { fastCheck: { numRuns: 5000 } })

  it.prop("decodes standard base64 to the bytes it encodes", [fc.uint8Array({ maxLength: 64 })], ([bytes]) => {
    const decoded = decodeStandardBase64(Buffer.from(bytes).toString("base64"))
    assert.deepStrictEqual(decoded === undefined ? undefined : Array.from(decoded), Array.from(bytes))
  })

  it("refuses the URL-safe alphabet, misplaced padding and a wrong length", () => {
    for (const text of ["ab-d", "ab_d", "a=bc", "abc", "ab==cdef", " abc", "abc\u00e9"]) {
      assert.isUndefined(decodeStandardBase64(text), JSON.stringify(text))
    }
  })
})
