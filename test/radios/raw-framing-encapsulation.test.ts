/** §5.5 over raw serial framing: the encapsulation header and the frame it wraps are one frame on the line. */
import { describe, expect, it } from 'vitest';
import { RawFramer } from '../../radios/raw-framing.js';
import { decode, encode } from '../../sn-codec/index.js';

const connect = encode({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'node' });
const wrapped = encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([0xab, 0xcd]), message: { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'node' } });

describe('raw framing of forwarder frames', () => {
  it('§5.5 an encapsulated frame is delivered whole, even byte by byte and between plain frames', () => {
    const framer = new RawFramer({ maxFrameSize: 255, interByteGapMs: 100 });
    const line = Buffer.concat([connect, wrapped, connect]);
    const frames: Buffer[] = [];
    for (const byte of line) frames.push(...framer.push(Buffer.from([byte]), 0).frames);
    expect(frames).toEqual([connect, wrapped, connect]);
    expect(decode(frames[1])).toMatchObject({ type: 'ENCAPSULATED', message: { type: 'CONNECT', clientId: 'node' } });
  });

  it('§5.5 a wrapped frame that makes the whole exceed maxFrameSize is skipped, and the next frame still reads', () => {
    const framer = new RawFramer({ maxFrameSize: wrapped.length - 1, interByteGapMs: 100 });
    const result = framer.push(Buffer.concat([wrapped, connect]), 0);
    expect(result.frames).toEqual([connect]);
    expect(result.discarded).toEqual([{ reason: 'too-large', bytes: wrapped.length }]);
  });

  it('§5.5 a wrapped frame with Length 0 is discarded and the stream reads on', () => {
    const framer = new RawFramer({ maxFrameSize: 255, interByteGapMs: 100 });
    const header = wrapped.subarray(0, wrapped[0]);
    const result = framer.push(Buffer.concat([header, Buffer.from([0x00]), connect]), 0);
    expect(result.frames).toEqual([connect]);
    expect(result.discarded[0]).toMatchObject({ reason: 'invalid-length' });
  });
});
