#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=10 --liftoff-only
// The V8 flags keep memory flat on long runs: by default V8 lets a streaming run's young generation grow to
// 32 MB and its old generation to several times its live size before collecting; with these the heap stays
// small at no measured cost in speed (README, "How it works"). `--liftoff-only`: the only WebAssembly here is
// undici's HTTP parser, which V8 otherwise recompiles with TurboFan in the background once it is hot — about half a
// second of CPU and 30 MB of RSS in every process that makes HTTP requests, for parsing a few headers faster.
// `npm ci` builds dist/ in the `prepare` step.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv);
