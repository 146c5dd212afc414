/**
 * A scripted stand-in for the gateway: an SnUdpPeer on 127.0.0.1 that queues what clients send
 * and answers with reply(). Tests drive it step by step: `await gw.peer.expect('CONNECT'); gw.peer.reply(...)`.
 */
import { SnUdpPeer } from '../../client/udp-peer.js';

export interface FakeGateway {
  peer: SnUdpPeer;
  port: number;
  /** Every datagram received, byte for byte. */
  frames: Buffer[];
  close(): Promise<void>;
}

export async function startFakeGateway(): Promise<FakeGateway> {
  const frames: Buffer[] = [];
  const peer = await SnUdpPeer.open({
    // The fake only ever reply()s; this target is never used.
    gateway: { host: '127.0.0.1', port: 9 },
    onFrame: (direction, frame) => {
      if (direction === 'received') frames.push(Buffer.from(frame));
    },
  });
  return { peer, port: peer.port, frames, close: () => peer.close() };
}
