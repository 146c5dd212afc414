/**
 * What-if experiments: small changes applied from outside to a running gateway, to measure a suspected
 * bottleneck before anyone changes the gateway's code. Off by default; `--what-if=a,b` turns them on and
 * the output says so, because the figures are then not those of the gateway as shipped.
 * They reach into private fields (the upstream's mqtt.js client, the UDP radio's socket): bench-only.
 */
import type dgram from 'node:dgram';
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import type { Gateway } from '../../gateway/gateway.js';

export const WHAT_IFS = {
  /** One writev per event-loop turn to the broker instead of one per message: cork until setImmediate. */
  'batch-writes': (gateway: Gateway) => {
    const stream = brokerSocket(gateway);
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    let corked = false;
    const flush = (): void => {
      corked = false;
      stream.uncork();
    };
    stream.write = ((...args: unknown[]) => {
      if (!corked) {
        corked = true;
        stream.cork();
        setImmediate(flush);
      }
      return write(...args);
    }) as typeof stream.write;
  },
  /** TCP_NODELAY on the broker connection (mqtt.js leaves Nagle on). */
  nodelay: (gateway: Gateway) => {
    brokerSocket(gateway).setNoDelay(true);
  },
  /** A 4 MiB receive buffer on the gateway's UDP socket instead of the kernel default (about 200 KB). */
  rcvbuf: (gateway: Gateway) => {
    udpSocket(gateway).setRecvBufferSize(4 * 1024 * 1024);
  },
  /** mqtt.js calls its `debug` logger several times per packet even when disabled: replace it with a no-op. */
  'quiet-mqtt-log': (gateway: Gateway) => {
    (mqttClient(gateway) as unknown as { log: (...args: unknown[]) => void }).log = () => {};
  },
} satisfies Record<string, (gateway: Gateway) => void>;

export type WhatIf = keyof typeof WHAT_IFS;

export function parseWhatIfs(argv: string[]): WhatIf[] {
  const chosen = argv.filter((a) => a.startsWith('--what-if=')).flatMap((a) => a.slice('--what-if='.length).split(','));
  const unknown = chosen.filter((w) => !(w in WHAT_IFS));
  if (unknown.length) throw new Error(`unknown --what-if ${unknown.join(', ')}; choose from ${Object.keys(WHAT_IFS).join(', ')}`);
  return chosen as WhatIf[];
}

export function applyWhatIfs(gateway: Gateway, whatIfs: WhatIf[]): void {
  for (const w of whatIfs) WHAT_IFS[w](gateway);
}

function mqttClient(gateway: Gateway): MqttClient {
  const client = (gateway.upstream as unknown as { client: MqttClient | undefined }).client;
  if (!client) throw new Error('what-if: the upstream has no mqtt.js client');
  return client;
}

function brokerSocket(gateway: Gateway): Socket {
  return mqttClient(gateway).stream as unknown as Socket;
}

function udpSocket(gateway: Gateway): dgram.Socket {
  const socket = (gateway.radios[0] as unknown as { socket: dgram.Socket | undefined }).socket;
  if (!socket) throw new Error('what-if: the UDP radio has no socket');
  return socket;
}
