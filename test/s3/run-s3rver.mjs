// Runs s3rver in its own Node process and prints {"port":N} once it listens. A separate process
// because s3rver pages listings with DES-encrypted continuation tokens, which OpenSSL 3 (Node >= 17)
// offers only with --openssl-legacy-provider: that flag stays confined to this test server.
import S3rver from "s3rver";

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
	address: "127.0.0.1",
	port: 0,
	silent: true,
	directory,
	configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
const stop = async () => {
	await server.close();
	process.exit(0);
};
process.on("SIGTERM", stop);
// The test run holds our stdin open: when it ends in any way (even killed), so does this server.
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
