// One upload through ftprep's Mistral provider (library API, its own process): prints {"seconds","status"}.
import { statSync } from "node:fs";
import { basename } from "node:path";
import { MistralProvider } from "../dist/index.js";

const [url, path] = process.argv.slice(2);
const provider = new MistralProvider({ baseUrl: url, apiKey: "bench" });
const started = performance.now();
await provider.upload({ path, filename: basename(path), bytes: statSync(path).size });
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000 }));
await provider.close();
