/**
 * aedes as a broker of its own, in its own process, for `--broker=aedes` (bench/gateway.ts): the gateway
 * path and the direct path measured against a broker that reads each connection in bulk (a chunk of
 * pipelined packets per read), where Mosquitto 2.0.11 reads every packet with three system calls.
 * aedes's defaults throughout (in-memory persistence, mqemitter), as `npx aedes` would run it; plain
 * JavaScript so that no TypeScript loader sits in the broker's process.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const aedes = await Aedes.createBroker();
const server = createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message !== 'stop') return;
  server.close();
  aedes.close(() => process.exit(0));
});
