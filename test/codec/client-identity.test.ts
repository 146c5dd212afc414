/** DecodeOptions.checkClientIdentity: false hands CONNECT's ProtocolId and ClientId to the caller (the gateway answers CONNACK 0x03). */
import { describe, expect, it } from 'vitest';
import { decode, SnCodecError } from '../../sn-codec/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const lenient = { checkClientIdentity: false };

describe('checkClientIdentity: false', () => {
  it('§5.4.4 CONNECT with ProtocolId 0x02 decodes, carrying protocolId', () => {
    expect(decode(hex('07 04 04 02 003c 63'), lenient)).toEqual({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'c', protocolId: 2 });
  });

  it('§5.4.4 CONNECT with an empty ClientId decodes to clientId ""', () => {
    expect(decode(hex('06 04 04 01 003c'), lenient)).toMatchObject({ type: 'CONNECT', clientId: '', protocolId: 1 });
  });

  it('§5.4.4 CONNECT with a ClientId longer than maxClientIdLength decodes (inside ENCAPSULATED too)', () => {
    const connect = Buffer.concat([hex('1e 04 04 01 003c'), Buffer.from('x'.repeat(24))]);
    expect(decode(connect, { ...lenient, maxClientIdLength: 23 })).toMatchObject({ clientId: 'x'.repeat(24) });
    const wrapped = Buffer.concat([hex('04 fe 00 42'), connect]); // Length 4, 0xFE, Ctrl, Wireless Node Id 0x42
    expect(decode(wrapped, lenient)).toMatchObject({ type: 'ENCAPSULATED', message: { clientId: 'x'.repeat(24) } });
  });

  it('§5.4.19 PINGREQ with a ClientId longer than maxClientIdLength decodes', () => {
    expect(decode(Buffer.concat([hex('1a 16'), Buffer.from('y'.repeat(24))]), { ...lenient, maxClientIdLength: 23 })).toEqual({ type: 'PINGREQ', clientId: 'y'.repeat(24) });
  });

  it('§5.4.4 by default the same CONNECT is still malformed (bad-protocol-id), and a decoded CONNECT has no protocolId', () => {
    expect(() => decode(hex('07 04 04 02 003c 63'))).toThrow(SnCodecError);
    expect(decode(hex('07 04 04 01 003c 63'))).not.toHaveProperty('protocolId');
  });

  it('§5.4.4 a CONNECT too short for its fixed fields stays malformed', () => {
    expect(() => decode(hex('05 04 04 01 00'), lenient)).toThrow(SnCodecError);
  });
});
