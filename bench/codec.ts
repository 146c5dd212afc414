/**
 * Codec throughput: decode and encode operations per second for a 20-byte QoS 1 PUBLISH
 * and a CONNECT. Run with `npm run bench:codec`.
 */
import { decode, encode, type SnMessage } from '../sn-codec/index.js';

const PUBLISH: SnMessage = {
  type: 'PUBLISH',
  dup: false,
  qos: 1,
  retain: false,
  topicIdType: 'normal',
  topicId: 0x0001,
  msgId: 0x1234,
  payload: Buffer.from('temp=21.5C;ok'), // 13 bytes + 7 bytes of header and fields = 20
};

const CONNECT: SnMessage = {
  type: 'CONNECT',
  will: false,
  cleanSession: true,
  duration: 60,
  clientId: 'kitchen-sensor-01',
};

const RUN_MS = 1000;
const BATCH = 10_000;

/** Runs `op` in batches for about RUN_MS and returns operations per second. */
function opsPerSecond(op: () => number): number {
  let sink = 0;
  for (let i = 0; i < BATCH * 20; i++) sink += op(); // warm-up so the optimising compiler has settled
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  const budgetNs = BigInt(RUN_MS) * 1_000_000n;
  while (elapsedNs < budgetNs) {
    for (let i = 0; i < BATCH; i++) sink += op();
    ops += BATCH;
    elapsedNs = process.hrtime.bigint() - start;
  }
  if (sink === -1) console.log('unreachable'); // keeps the results alive
  return ops / (Number(elapsedNs) / 1e9);
}

function report(label: string, bytes: number, perSecond: number): void {
  console.log(`${label.padEnd(22)} ${String(bytes).padStart(3)} B  ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} ops/s`);
}

const publishFrame = encode(PUBLISH);
const connectFrame = encode(CONNECT);
if (publishFrame.length !== 20) throw new Error(`PUBLISH frame is ${publishFrame.length} bytes, expected 20`);

console.log(`node ${process.version}, ${RUN_MS} ms per case`);
report('decode PUBLISH QoS 1', publishFrame.length, opsPerSecond(() => {
  const m = decode(publishFrame) as { msgId: number; payload: Buffer };
  return m.msgId + m.payload.length;
}));
report('encode PUBLISH QoS 1', publishFrame.length, opsPerSecond(() => encode(PUBLISH).length));
report('decode CONNECT', connectFrame.length, opsPerSecond(() => {
  const m = decode(connectFrame) as { duration: number; clientId: string };
  return m.duration + m.clientId.length;
}));
report('encode CONNECT', connectFrame.length, opsPerSecond(() => encode(CONNECT).length));
