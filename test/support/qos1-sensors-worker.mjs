// QoS 1 sensors for the allocation harness (qos1-allocation.ts), in a worker thread: a heap of their
// own, so the gateway's heap, measured on the main thread, holds only the gateway's allocations.
// Plain JavaScript on raw dgram sockets: the frames are the codec's, encoded by the main thread.
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';

const { gatewayPort, connects, registers, publishes, gate } = workerData;
/** Shared with the main thread: 1 while it is held (blocked) so that a burst arrives all at once. */
const held = new Int32Array(gate);
const CONNACK = 0x05;
const REGACK = 0x0b;
const PUBACK = 0x0d;

/** One sensor: a socket and the frame handler of the moment. */
function openSensor() {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const sensor = { socket, onFrame: () => {} };
    socket.on('message', (frame) => sensor.onFrame(frame));
    socket.bind(0, '127.0.0.1', () => resolve(sensor));
  });
}

/** Sends `frame` and resolves with the first answer of `type`. */
function exchange(sensor, frame, type) {
  return new Promise((resolve) => {
    sensor.onFrame = (answer) => {
      if (answer[1] === type) resolve(answer);
    };
    sensor.socket.send(frame, gatewayPort, '127.0.0.1');
  });
}

const sensors = await Promise.all(connects.map(() => openSensor()));
await Promise.all(sensors.map(async (sensor, i) => {
  const connack = await exchange(sensor, Buffer.from(connects[i]), CONNACK);
  if (connack[2] !== 0) throw new Error(`CONNACK ${connack[2]}`);
  const regack = await exchange(sensor, Buffer.from(registers[i]), REGACK);
  if (regack[6] !== 0) throw new Error(`REGACK ${regack[6]}`);
  // The PUBLISH template gets the topic id the gateway gave (bytes 3-4 of a short-Length frame).
  sensor.publish = Buffer.from(publishes[i]);
  sensor.publish[3] = regack[2];
  sensor.publish[4] = regack[3];
  sensor.msgId = 0;
}));

/** `count` QoS 1 messages in a closed loop, one in flight per sensor; resolves once all are acknowledged. */
function run(count) {
  return new Promise((resolve) => {
    let sent = 0;
    let acked = 0;
    let refused = 0;
    const sendNext = (sensor) => {
      sent++;
      sensor.msgId = sensor.msgId === 0xffff ? 1 : sensor.msgId + 1;
      sensor.publish.writeUInt16BE(sensor.msgId, 5);
      sensor.socket.send(sensor.publish, gatewayPort, '127.0.0.1');
    };
    for (const sensor of sensors) {
      sensor.onFrame = (frame) => {
        if (frame[1] !== PUBACK || frame.readUInt16BE(4) !== sensor.msgId) return;
        acked++;
        if (frame[6] !== 0) refused++;
        if (sent < count) sendNext(sensor);
        else if (acked === count) resolve({ acked, refused });
      };
    }
    for (const sensor of sensors) if (sent < count) sendNext(sensor);
  });
}

/**
 * `count` messages in rounds: the main thread (the gateway) is held, every sensor sends one PUBLISH, the
 * gateway is let go and finds the whole burst waiting, in one event-loop turn; the next round starts once
 * all are acknowledged. So each turn handles exactly as many messages as there are sensors, however busy
 * the machine: what the gateway allocates per turn is spread the same way in every run.
 */
function runInBursts(count) {
  return new Promise((resolve) => {
    let acked = 0;
    let refused = 0;
    let waiting = 0;
    const round = () => {
      parentPort.postMessage({ kind: 'hold' });
      while (Atomics.load(held, 0) !== 1) Atomics.wait(held, 0, 0, 50);
      waiting = Math.min(sensors.length, count - acked);
      for (let i = 0; i < waiting; i++) {
        const sensor = sensors[i];
        sensor.msgId = sensor.msgId === 0xffff ? 1 : sensor.msgId + 1;
        sensor.publish.writeUInt16BE(sensor.msgId, 5);
        sensor.socket.send(sensor.publish, gatewayPort, '127.0.0.1');
      }
      Atomics.store(held, 0, 0);
      Atomics.notify(held, 0);
    };
    for (const sensor of sensors) {
      sensor.onFrame = (frame) => {
        if (frame[1] !== PUBACK || frame.readUInt16BE(4) !== sensor.msgId) return;
        acked++;
        if (frame[6] !== 0) refused++;
        if (--waiting > 0) return;
        if (acked < count) round();
        else resolve({ acked, refused });
      };
    }
    round();
  });
}

parentPort.on('message', async (command) => {
  if (command.kind === 'run') parentPort.postMessage({ kind: 'ran', ...(await (command.bursts ? runInBursts(command.messages) : run(command.messages))) });
  if (command.kind === 'close') {
    await Promise.all(sensors.map((s) => new Promise((resolve) => s.socket.close(resolve))));
    parentPort.postMessage({ kind: 'closed' });
  }
});
parentPort.postMessage({ kind: 'ready' });
