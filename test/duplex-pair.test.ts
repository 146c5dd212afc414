/** The in-memory stream pair under the gateway's connection to the embedded broker (gateway/broker/duplex-pair.ts). */
import { describe, expect, it } from 'vitest';
import { duplexPair } from '../gateway/broker/duplex-pair.js';

const nextEvent = (emitter: NodeJS.EventEmitter, event: string) => new Promise<void>((resolve) => emitter.once(event, () => resolve()));

describe('duplexPair', () => {
  it('counts the bytes one end wrote and how many of them the other end has read, backpressure included', async () => {
    const [a, b] = duplexPair();
    const chunk = Buffer.alloc(16 * 1024, 7);
    for (let i = 0; i < 40; i++) a.write(chunk); // more than the reader's buffer takes: some wait at `a`
    expect(a.written).toBe(40 * chunk.length);
    expect(a.readByPeer).toBe(0);
    b.read(chunk.length);
    expect(a.readByPeer).toBe(chunk.length);
    let read = chunk.length;
    b.on('data', (c: Buffer) => { read += c.length; });
    await new Promise<void>((resolve) => { const check = () => (read === 40 * chunk.length ? resolve() : setImmediate(check)); check(); });
    expect(a.readByPeer).toBe(40 * chunk.length);
    expect(a.written).toBe(40 * chunk.length);
    expect(a.delivered).toBe(true);
  });

  it('what one end writes the other reads, in order, both ways', async () => {
    const [a, b] = duplexPair();
    const atB: Buffer[] = [];
    b.on('data', (chunk: Buffer) => atB.push(chunk));
    a.write('one ');
    a.write('two');
    const atA = new Promise<string>((resolve) => a.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    b.write('back');
    expect(await atA).toBe('back');
    expect(Buffer.concat(atB).toString()).toBe('one two');
  });

  it('a writer waits while the reader lags (backpressure), then everything arrives, in order', async () => {
    const [a, b] = duplexPair();
    const chunk = (i: number) => Buffer.alloc(16 * 1024, i % 256);
    let accepted = 0;
    let waitAsked = false;
    while (accepted < 256 && !waitAsked) waitAsked = !a.write(chunk(accepted++)); // the write that said "wait" was taken too
    expect(waitAsked).toBe(true); // an unbounded pair would take all 256 (4 MB) without a word
    expect(accepted).toBeLessThan(64);
    const drained = nextEvent(a, 'drain');
    const received: Buffer[] = [];
    b.on('data', (c: Buffer) => received.push(c));
    await drained;
    const all = Buffer.concat(received);
    expect(all.length).toBe(accepted * 16 * 1024);
    for (let i = 0; i < accepted; i++) expect(all[i * 16 * 1024]).toBe(i % 256);
  });

  it('ending one end ends the other end\'s reading and closes both, as a socket does', async () => {
    const [a, b] = duplexPair();
    b.resume();
    a.resume();
    const bEnded = nextEvent(b, 'end');
    const bClosed = nextEvent(b, 'close');
    const aClosed = nextEvent(a, 'close');
    a.end();
    await Promise.all([bEnded, bClosed, aClosed]);
  });

  it('destroying one end closes the other', async () => {
    const [a, b] = duplexPair();
    const bClosed = nextEvent(b, 'close');
    a.destroy();
    await bClosed;
    expect(b.destroyed).toBe(true);
  });
});
