/**
 * How many bytes of JavaScript heap the gateway allocates per QoS 1 message on its whole path: the
 * datagram in, decode, core, the pre-encoded PUBLISH to the broker, the broker's PUBACK through mqtt.js,
 * our PUBACK encoded and sent (issue 13: allocation drives the young-generation scavenges that hold
 * PUBACKs back). The gateway runs in this thread, as the caller started it (a real broker behind it);
 * the sensors run in a worker thread (qos1-sensors-worker.mjs), whose heap is its own, so everything
 * counted here is the gateway's. Exact bytes, not sampled (heap-window.ts); what varies between runs is
 * how many datagrams share an event-loop turn (per-turn costs are spread over them) and what V8 has
 * optimized by then, hence the warm-up.
 */
import { Worker } from 'node:worker_threads';
import { encode } from '../../sn-codec/index.js';
import { HeapWindow, type HeapFigures } from './heap-window.js';

export interface AllocationRun extends HeapFigures {
  messages: number;
  /** Messages the gateway refused (PUBACK with a return code): none expected. */
  refused: number;
  bytesPerMessage: number;
}

export interface QoS1Sensors {
  /**
   * Runs `messages` QoS 1 publishes, one in flight per sensor; the gateway's heap is measured over them.
   * Closed loop (each sensor's next PUBLISH on its PUBACK), or with `bursts` in rounds: this thread is held
   * while every sensor sends one, so each event-loop turn of the gateway handles one whole burst.
   */
  measure(messages: number, options?: { bursts?: boolean }): Promise<AllocationRun>;
  close(): Promise<void>;
}

type Reply = { kind: 'ready' } | { kind: 'ran'; acked: number; refused: number } | { kind: 'closed' } | { kind: 'hold' };

/** Connects `sensors` sensors (CONNECT, REGISTER of `<topicPrefix>/<i>`) to the gateway on 127.0.0.1:`gatewayPort`. */
export async function qos1Sensors(gatewayPort: number, sensors: number, clientIdPrefix: string, topicPrefix: string): Promise<QoS1Sensors> {
  const ids = Array.from({ length: sensors }, (_, i) => i);
  // 1 while this thread is held for a burst (see measure); the worker lets it go.
  const gate = new SharedArrayBuffer(4);
  const held = new Int32Array(gate);
  const worker = new Worker(new URL('./qos1-sensors-worker.mjs', import.meta.url), {
    workerData: {
      gatewayPort,
      connects: ids.map((i) => encode({ type: 'CONNECT', will: false, cleanSession: true, duration: 600, clientId: `${clientIdPrefix}-${i}` })),
      registers: ids.map((i) => encode({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: `${topicPrefix}/${i}` })),
      publishes: ids.map(() => encode({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: 0, msgId: 0, payload: Buffer.from('temp=21.5C;ok') })),
      gate,
    },
  });
  const replies: Reply[] = [];
  let waiting: (() => void) | undefined;
  let failed: Error | undefined;
  worker.on('message', (reply: Reply) => {
    if (reply.kind === 'hold') {
      // Held here, synchronously, until the worker has sent its burst: the gateway then reads it all at once.
      Atomics.store(held, 0, 1);
      Atomics.notify(held, 0);
      while (Atomics.load(held, 0) === 1) Atomics.wait(held, 0, 1, 50);
      return;
    }
    replies.push(reply);
    waiting?.();
  });
  worker.on('error', (err) => {
    failed = err;
    waiting?.();
  });
  const next = async <K extends Reply['kind']>(kind: K): Promise<Extract<Reply, { kind: K }>> => {
    while (replies.length === 0 && !failed) await new Promise<void>((resolve) => (waiting = resolve));
    waiting = undefined;
    if (failed) throw failed;
    const reply = replies.shift()!;
    if (reply.kind !== kind) throw new Error(`sensors worker: expected ${kind}, got ${reply.kind}`);
    return reply as Extract<Reply, { kind: K }>;
  };
  await next('ready');
  return {
    async measure(messages, options = {}) {
      const heap = new HeapWindow();
      heap.start();
      worker.postMessage({ kind: 'run', messages, bursts: options.bursts ?? false });
      const ran = await next('ran');
      const figures = heap.stop();
      return { ...figures, messages: ran.acked, refused: ran.refused, bytesPerMessage: figures.allocatedBytes / ran.acked };
    },
    async close() {
      worker.postMessage({ kind: 'close' });
      await next('closed');
      await worker.terminate();
    },
  };
}
