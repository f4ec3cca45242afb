#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=67108864 MALLOC_TOP_PAD_=67108864 node --max-semi-space-size=4 --heap-growing-percent=10 --liftoff-only
// The V8 flags keep memory flat on long runs: by default V8 lets a streaming run's young generation grow to
// 32 MB and its old generation to several times its live size before collecting; with these the heap stays
// small at no measured cost in speed (README, "How it works"). `--liftoff-only`: the only WebAssembly here is
// undici's HTTP parser, which V8 otherwise recompiles with TurboFan in the background once it is hot — about half a
// second of CPU and 30 MB of RSS in every process that makes HTTP requests, for parsing a few headers faster.
// The two glibc malloc settings keep freed memory mapped for reuse: Node's HTTP parser copies every piece of a
// request body (64 KiB a socket read) into a fresh malloc'd buffer, freed only when V8 collects it; by default glibc
// gives the freed pages back to the kernel at once and the next pieces fault them in again — for the local Files API
// about a third of its CPU per upload was that copy and its page faults (perf). Keeping up to 64 MB for reuse cut the
// server's CPU a 4 MB upload by about a quarter (README, "Scaling out").
// `npm ci` builds dist/ in the `prepare` step.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv);
