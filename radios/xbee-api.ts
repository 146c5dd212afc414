/**
 * Digi XBee API frames: encoder, decoder and stream parser. Pure; no I/O.
 *
 * Wire format: `7E | length (uint16 BE, of frame-data) | frame-data | checksum`,
 * checksum = 0xFF - (sum of frame-data & 0xFF).
 * API=2 (escaped): after the start byte, each of 7E 7D 11 13 (length and checksum included)
 * is sent as 7D, byte ^ 0x20. Length and checksum are computed on the unescaped bytes.
 */

export type XBeeApiMode = 1 | 2;

export const START_DELIMITER = 0x7e;
const ESCAPE = 0x7d;
const XON = 0x11;
const XOFF = 0x13;
const ESCAPE_XOR = 0x20;

/** Frame types (the first byte of frame-data) this gateway speaks. */
export const FrameType = {
  /** 802.15.4: Transmit Request with a 64-bit destination. */
  Tx64Request: 0x00,
  /** 802.15.4: Transmit Request with a 16-bit destination. */
  Tx16Request: 0x01,
  /** Zigbee/DigiMesh: Transmit Request. */
  TransmitRequest: 0x10,
  /** 802.15.4: Receive Packet from a 64-bit source. */
  Rx64: 0x80,
  /** 802.15.4: Receive Packet from a 16-bit source. */
  Rx16: 0x81,
  /** 802.15.4: Transmit Status. */
  TxStatus: 0x89,
  /** Zigbee/DigiMesh: Transmit Status. */
  TransmitStatus: 0x8b,
  /** Zigbee/DigiMesh: Receive Packet. */
  ReceivePacket: 0x90,
} as const;

/** dst64 for a broadcast to every node of the network. */
export const BROADCAST_64 = Buffer.from('000000000000ffff', 'hex');
/** dst16 when the 16-bit address is unknown (the module discovers it) or for broadcasts. */
export const UNKNOWN_16 = 0xfffe;
/** dst16 for an 802.15.4 broadcast. */
export const BROADCAST_16 = 0xffff;
/** Receive options bit: the packet was a broadcast. */
export const RECEIVE_OPTION_BROADCAST = 0x02;

/** Frames longer than this (frame-data) are not XBee frames: the parser resynchronises. */
export const MAX_FRAME_DATA_LENGTH = 512;

export type XBeeApiFrame =
  | { type: 'receivePacket'; source64: Buffer; source16: number; options: number; data: Buffer }
  | { type: 'rx64'; source64: Buffer; rssi: number; options: number; data: Buffer }
  | { type: 'rx16'; source16: number; rssi: number; options: number; data: Buffer }
  | { type: 'transmitStatus'; frameId: number; destination16: number; retries: number; deliveryStatus: number; discoveryStatus: number }
  | { type: 'txStatus'; frameId: number; status: number }
  /** A frame type this gateway does not use (AT responses, modem status...). */
  | { type: 'other'; frameType: number }
  /** A known frame type too short for its fields. */
  | { type: 'malformed'; frameType: number; reason: string };

/** Minimum frame-data length of each frame type decoded here. */
const MIN_LENGTH: Record<number, number> = {
  [FrameType.ReceivePacket]: 12,
  [FrameType.Rx64]: 11,
  [FrameType.Rx16]: 5,
  [FrameType.TransmitStatus]: 7,
  [FrameType.TxStatus]: 3,
};

/** Decodes unescaped, checksum-verified frame-data. Payloads are copies. */
export function decodeApiFrame(frameData: Buffer): XBeeApiFrame {
  const frameType = frameData[0];
  const min = MIN_LENGTH[frameType];
  if (min === undefined) return { type: 'other', frameType };
  if (frameData.length < min) {
    return { type: 'malformed', frameType, reason: `${frameData.length} bytes, needs at least ${min}` };
  }
  const copy = (start: number, end?: number): Buffer => Buffer.from(frameData.subarray(start, end));
  switch (frameType) {
    case FrameType.ReceivePacket:
      return { type: 'receivePacket', source64: copy(1, 9), source16: frameData.readUInt16BE(9), options: frameData[11], data: copy(12) };
    case FrameType.Rx64:
      return { type: 'rx64', source64: copy(1, 9), rssi: frameData[9], options: frameData[10], data: copy(11) };
    case FrameType.Rx16:
      return { type: 'rx16', source16: frameData.readUInt16BE(1), rssi: frameData[3], options: frameData[4], data: copy(5) };
    case FrameType.TransmitStatus:
      return {
        type: 'transmitStatus',
        frameId: frameData[1],
        destination16: frameData.readUInt16BE(2),
        retries: frameData[4],
        deliveryStatus: frameData[5],
        discoveryStatus: frameData[6],
      };
    default: // FrameType.TxStatus
      return { type: 'txStatus', frameId: frameData[1], status: frameData[2] };
  }
}

export interface TransmitRequest {
  /** 0 asks for no Transmit Status. */
  frameId: number;
  destination64: Buffer;
  destination16: number;
  radius: number;
  options: number;
  data: Buffer;
}

/** Zigbee/DigiMesh 0x10 Transmit Request frame-data. */
export function encodeTransmitRequest(request: TransmitRequest): Buffer {
  const header = Buffer.alloc(14);
  header[0] = FrameType.TransmitRequest;
  header[1] = request.frameId;
  request.destination64.copy(header, 2, 0, 8);
  header.writeUInt16BE(request.destination16, 10);
  header[12] = request.radius;
  header[13] = request.options;
  return Buffer.concat([header, request.data]);
}

/** 802.15.4 0x00 TX64 Request frame-data. */
export function encodeTx64Request(request: { frameId: number; destination64: Buffer; options: number; data: Buffer }): Buffer {
  const header = Buffer.alloc(11);
  header[0] = FrameType.Tx64Request;
  header[1] = request.frameId;
  request.destination64.copy(header, 2, 0, 8);
  header[10] = request.options;
  return Buffer.concat([header, request.data]);
}

/** 802.15.4 0x01 TX16 Request frame-data. */
export function encodeTx16Request(request: { frameId: number; destination16: number; options: number; data: Buffer }): Buffer {
  const header = Buffer.alloc(5);
  header[0] = FrameType.Tx16Request;
  header[1] = request.frameId;
  header.writeUInt16BE(request.destination16, 2);
  header[4] = request.options;
  return Buffer.concat([header, request.data]);
}

export function checksum(frameData: Uint8Array): number {
  let sum = 0;
  for (const byte of frameData) sum += byte;
  return 0xff - (sum & 0xff);
}

function needsEscape(byte: number): boolean {
  return byte === START_DELIMITER || byte === ESCAPE || byte === XON || byte === XOFF;
}

/** Wraps frame-data for the wire: start, length, data, checksum; escaped in API=2. */
export function encodeApiFrame(frameData: Buffer, apiMode: XBeeApiMode): Buffer {
  const body = Buffer.alloc(frameData.length + 3);
  body.writeUInt16BE(frameData.length, 0);
  frameData.copy(body, 2);
  body[body.length - 1] = checksum(frameData);
  if (apiMode === 1) return Buffer.concat([Buffer.of(START_DELIMITER), body]);
  const out: number[] = [START_DELIMITER];
  for (const byte of body) {
    if (needsEscape(byte)) out.push(ESCAPE, byte ^ ESCAPE_XOR);
    else out.push(byte);
  }
  return Buffer.from(out);
}

export type XBeeParseProblem =
  | { kind: 'checksum'; frameType: number; length: number }
  /** API=2: a start byte arrived before the frame was complete. */
  | { kind: 'truncated'; received: number; length: number }
  /** The length field is 0 or larger than any XBee frame. */
  | { kind: 'length'; length: number };

export interface XBeeParseResult {
  /** Unescaped frame-data of each frame with a good checksum. */
  frames: Buffer[];
  problems: XBeeParseProblem[];
  /** Bytes outside any frame (before a start byte), skipped. */
  skippedBytes: number;
}

/**
 * Splits a byte stream into API frames. Frames may arrive split across reads or several per read;
 * bytes before a start delimiter are skipped. In API=2 a start delimiter is never data, so it always
 * begins a new frame; in API=1 it may be data, so the length field alone delimits a frame.
 */
export class XBeeApiParser {
  /** Unescaped bytes after the start delimiter: length (2), frame-data, checksum. */
  private readonly body = Buffer.alloc(MAX_FRAME_DATA_LENGTH + 3);
  private bodyLength = 0;
  private inFrame = false;
  private escapeNext = false;

  constructor(private readonly apiMode: XBeeApiMode) {}

  push(chunk: Uint8Array): XBeeParseResult {
    const result: XBeeParseResult = { frames: [], problems: [], skippedBytes: 0 };
    const escaped = this.apiMode === 2;
    for (let byte of chunk) {
      if (!this.inFrame) {
        if (byte === START_DELIMITER) this.beginFrame();
        else result.skippedBytes++;
        continue;
      }
      if (escaped) {
        if (byte === START_DELIMITER) {
          result.problems.push({ kind: 'truncated', received: this.bodyLength, length: this.announcedLength() });
          this.beginFrame();
          continue;
        }
        if (byte === ESCAPE) {
          this.escapeNext = true;
          continue;
        }
        if (this.escapeNext) {
          byte ^= ESCAPE_XOR;
          this.escapeNext = false;
        }
      }
      this.body[this.bodyLength++] = byte;
      this.afterByte(result);
    }
    return result;
  }

  /** Forgets a half-read frame (after the line was reopened). */
  reset(): void {
    this.inFrame = false;
    this.escapeNext = false;
    this.bodyLength = 0;
  }

  private beginFrame(): void {
    this.inFrame = true;
    this.escapeNext = false;
    this.bodyLength = 0;
  }

  private announcedLength(): number {
    return this.bodyLength >= 2 ? this.body.readUInt16BE(0) : -1;
  }

  private afterByte(result: XBeeParseResult): void {
    if (this.bodyLength < 2) return;
    const length = this.body.readUInt16BE(0);
    if (this.bodyLength === 2 && (length === 0 || length > MAX_FRAME_DATA_LENGTH)) {
      result.problems.push({ kind: 'length', length });
      this.resync(result);
      return;
    }
    if (this.bodyLength < length + 3) return;
    const frameData = this.body.subarray(2, 2 + length);
    const sum = this.body[2 + length];
    if (checksum(frameData) === sum) {
      result.frames.push(Buffer.from(frameData));
      this.reset();
      return;
    }
    result.problems.push({ kind: 'checksum', frameType: frameData[0], length });
    this.resync(result);
  }

  /**
   * What followed a start delimiter was not a frame. In API=1 a stray 0x7E (line noise) can swallow the
   * real frames behind it, so its bytes are read again from just after it: a 0x7E among them may begin
   * the real frame. (In API=2 a 0x7E is never data, so there is nothing to recover.)
   */
  private resync(result: XBeeParseResult): void {
    const replay = this.apiMode === 1 ? Buffer.from(this.body.subarray(0, this.bodyLength)) : undefined;
    this.reset();
    if (!replay) return;
    const again = this.push(replay);
    result.frames.push(...again.frames);
    result.problems.push(...again.problems);
    result.skippedBytes += again.skippedBytes;
  }
}
