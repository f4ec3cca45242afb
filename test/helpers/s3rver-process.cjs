// Runs s3rver (a dev dependency) on 127.0.0.1, a random port, and prints {"port": N} as its first stdout line.
// A process of its own because s3rver's ListObjectsV2 continuation tokens use DES, which Node 20's OpenSSL 3 has
// only with --openssl-legacy-provider; the test process itself keeps the default crypto.
"use strict";
const S3rver = require("s3rver");
const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
server.run().then(({ port }) => process.stdout.write(`${JSON.stringify({ port })}\n`));
const stop = () => server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
