// s3rver in a child process started with --openssl-legacy-provider: its ListObjectsV2 continuation
// tokens are DES-encrypted, which OpenSSL 3 only offers through the legacy provider. Listens on
// 127.0.0.1 (a free port), prints {"port": N} on stdout, and stops when its stdin closes.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
