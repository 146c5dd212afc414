/**
 * Every numeric code and bit mask of the MQTT-SN 1.2 wire format, named once.
 * Section numbers (§) are those of the MQTT-SN 1.2 specification.
 */
import type { SnMessageType } from './types.js';

/** MsgType values (§5.2.2). Codes not listed here are reserved. */
export const MsgType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
  /** Forwarder Encapsulation (§5.5). */
  ENCAPSULATED: 0xfe,
} as const satisfies Record<SnMessageType, number>;

/** Flags byte (§5.3.4). */
export const Flags = {
  DUP: 0x80,
  QOS_MASK: 0x60,
  QOS_SHIFT: 5,
  RETAIN: 0x10,
  WILL: 0x08,
  CLEAN_SESSION: 0x04,
  TOPIC_ID_TYPE_MASK: 0x03,
} as const;

/** TopicIdType bit values (§5.3.4 bits 1-0). */
export const TopicIdTypeBits = {
  NORMAL: 0b00,
  PREDEFINED: 0b01,
  SHORT: 0b10,
  RESERVED: 0b11,
} as const;

/** QoS bit values (§5.3.4 bits 6-5) before shifting; 0b11 is QoS -1. */
export const QosBits = {
  QOS0: 0b00,
  QOS1: 0b01,
  QOS2: 0b10,
  QOS_MINUS_1: 0b11,
} as const;

/** Forwarder Encapsulation Ctrl byte (§5.5): bits 1-0 carry the broadcast radius. */
export const ENCAPSULATION_RADIUS_MASK = 0x03;

/** ProtocolId of CONNECT (§5.3.8). */
export const PROTOCOL_ID = 0x01;

/** A first Length byte of 0x01 announces the three-byte form: 0x01 then a uint16 (§5.2.1). */
export const LONG_LENGTH_MARKER = 0x01;
/** Largest frame the one-byte Length form can describe (§5.2.1). */
export const MAX_SHORT_FRAME_LENGTH = 255;
/** Largest frame the three-byte Length form can describe (§5.2.1). */
export const MAX_FRAME_LENGTH = 65535;
/** Smallest legal frame: one Length byte and MsgType. */
export const MIN_SHORT_FRAME_LENGTH = 2;
/** Smallest legal long-form frame: three Length bytes and MsgType. */
export const MIN_LONG_FRAME_LENGTH = 4;

/** ClientId limit of §5.3.1 (1..23 characters); DecodeOptions.maxClientIdLength overrides it. */
export const DEFAULT_MAX_CLIENT_ID_LENGTH = 23;

const NAME_BY_CODE: (SnMessageType | undefined)[] = new Array(256).fill(undefined);
for (const [name, code] of Object.entries(MsgType)) NAME_BY_CODE[code] = name as SnMessageType;

/** The message type name for a MsgType code, or undefined if the code is reserved. */
export function messageTypeName(code: number): SnMessageType | undefined {
  return Number.isInteger(code) && code >= 0 && code <= 0xff ? NAME_BY_CODE[code] : undefined;
}
