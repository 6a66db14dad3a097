import { describe, it } from "@effect/vitest"
import { kclCommand } from "./fixtures.js"
import * as Transcripts from "./transcripts.js"

// The official Node client goes through the sessions our worker goes through, checked by the same fake daemon: the
// fake asks of our worker only what a real client does.
describe.concurrent("the aws-kcl client through the fake daemon", () => {
  it.scopedLive("retries a throttled checkpoint, answers idle actions, and stops on a lost lease", () =>
    Transcripts.normalSession(kclCommand))

  it.scopedLive("checkpoints the end of the shard before answering shardEnded", () =>
    Transcripts.shardEnded(kclCommand))
})
