/**
 * The ZNP dongle emulator's own contract (test/support/znp-emulator.ts): what it does with frames it does
 * not understand, so a test that makes herdsman send one fails by name instead of timing out.
 */
import { describe, expect, it } from 'vitest';
import { ZnpDongle } from '../support/znp-emulator.js';

/** A UNPI frame: FE len cmd0 cmd1 data fcs (FCS = XOR of len, cmd0, cmd1, data). */
function unpi(cmd0: number, cmd1: number, data: number[] = []): Buffer {
  const body = [data.length, cmd0, cmd1, ...data];
  return Buffer.from([0xfe, ...body, body.reduce((a, b) => a ^ b, 0)]);
}

function attached(): { dongle: ZnpDongle; written: Buffer[] } {
  const dongle = new ZnpDongle();
  const written: Buffer[] = [];
  dongle.attach({ write: (bytes) => written.push(Buffer.from(bytes)) });
  return { dongle, written };
}

describe('ZNP dongle emulator', () => {
  it('answers SYS_PING with an SRSP, skipping the skip-bootloader byte before it', () => {
    const { dongle, written } = attached();
    dongle.bytes(Buffer.concat([Buffer.from([0xef]), unpi(0x21, 0x01)]));
    expect(written).toHaveLength(1);
    expect(written[0].subarray(0, 4)).toEqual(Buffer.from([0xfe, 0x02, 0x61, 0x01]));
    expect(dongle.received).toEqual(['SREQ SYS ping']);
    expect(() => dongle.assertNoProblems()).not.toThrow();
  });

  it('a known command it does not emulate is a problem named by subsystem and command, refused at once with FAILURE', () => {
    const { dongle, written } = attached();
    // SYS_NV_CREATE (0x21 0x30): sysid, itemid, subid, len.
    dongle.bytes(unpi(0x21, 0x30, [0x01, 0x05, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00]));
    expect(written).toHaveLength(1);
    expect(written[0].subarray(0, 5)).toEqual(Buffer.from([0xfe, 0x01, 0x61, 0x30, 0x01]));
    expect(() => dongle.assertNoProblems()).toThrow(/SREQ SYS nvCreate \(01050000001000000[0-9a-f]*\) is not emulated/);
    // Reported once: the next test starts clean.
    expect(() => dongle.assertNoProblems()).not.toThrow();
  });

  it('a frame with a bad FCS is a problem, and the frames after it are still read', () => {
    const { dongle, written } = attached();
    const bad = unpi(0x21, 0x01);
    bad[bad.length - 1] ^= 0xff;
    dongle.bytes(Buffer.concat([bad, unpi(0x21, 0x01)]));
    expect(written).toHaveLength(1);
    expect(() => dongle.assertNoProblems()).toThrow(/bad FCS/);
  });

  it('keeps NV items across a soft reset unless the startup option clears them', () => {
    const { dongle } = attached();
    dongle.nv.set(0x21, Buffer.alloc(116, 1));
    dongle.bytes(unpi(0x41, 0x00, [0x01]));
    expect(dongle.nv.has(0x21)).toBe(true);
    dongle.nv.set(0x03, Buffer.from([0x02]));
    dongle.bytes(unpi(0x41, 0x00, [0x01]));
    expect(dongle.nv.has(0x21)).toBe(false);
  });
});
