import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "archiver",
    include: ["test/**/*.test.ts"],
    setupFiles: ["../../vitest.setup.ts"],
    testTimeout: 60_000
  }
})
