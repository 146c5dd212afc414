/**
 * MQTT-SN 1.2 messages (§5.4) as a discriminated union on `type`.
 * Flags are decoded into named fields; strings are UTF-8; payloads are views on the input buffer.
 */

/** QoS levels of MQTT-SN; -1 is "QoS -1" (§6.8), publish without connection. */
export type QoS = -1 | 0 | 1 | 2;

/**
 * TopicIdType (§5.3.4 flags bits 1-0).
 * - 'normal': a registered topic id (PUBLISH) or a topic name (SUBSCRIBE/UNSUBSCRIBE)
 * - 'predefined': a predefined topic id
 * - 'short': a two-byte short topic name carried in the TopicId field
 */
export type TopicIdType = 'normal' | 'predefined' | 'short';

/** Return codes (§5.3.10). */
export const ReturnCode = {
  Accepted: 0x00,
  Congestion: 0x01,
  InvalidTopicId: 0x02,
  NotSupported: 0x03,
} as const;
export type ReturnCode = number; // 0x00..0x03 defined; other values are carried as-is

export interface AdvertiseMessage { type: 'ADVERTISE'; gwId: number; duration: number }
export interface SearchGwMessage { type: 'SEARCHGW'; radius: number }
/** gwAdd is present only when a client (not the gateway) answers SEARCHGW. */
export interface GwInfoMessage { type: 'GWINFO'; gwId: number; gwAdd?: Buffer }
export interface ConnectMessage {
  type: 'CONNECT';
  will: boolean;
  cleanSession: boolean;
  /** Keep-alive duration in seconds. */
  duration: number;
  clientId: string;
  /** Only when decoded with checkClientIdentity: false; 0x01 is MQTT-SN 1.2. encode always writes 0x01. */
  protocolId?: number;
}
export interface ConnackMessage { type: 'CONNACK'; returnCode: ReturnCode }
export interface WillTopicReqMessage { type: 'WILLTOPICREQ' }
/** willTopic '' is the bare two-byte WILLTOPIC (no flags, no topic): delete will topic and message. */
export interface WillTopicMessage { type: 'WILLTOPIC'; qos: QoS; retain: boolean; willTopic: string }
export interface WillMsgReqMessage { type: 'WILLMSGREQ' }
export interface WillMsgMessage { type: 'WILLMSG'; willMsg: Buffer }
export interface RegisterMessage { type: 'REGISTER'; topicId: number; msgId: number; topicName: string }
export interface RegackMessage { type: 'REGACK'; topicId: number; msgId: number; returnCode: ReturnCode }
export interface PublishMessage {
  type: 'PUBLISH';
  dup: boolean;
  qos: QoS;
  retain: boolean;
  topicIdType: TopicIdType;
  /** Topic id, or for topicIdType 'short' the two name bytes as a big-endian uint16 (see shortTopic helpers). */
  topicId: number;
  msgId: number;
  payload: Buffer;
}
export interface PubackMessage { type: 'PUBACK'; topicId: number; msgId: number; returnCode: ReturnCode }
export interface PubcompMessage { type: 'PUBCOMP'; msgId: number }
export interface PubrecMessage { type: 'PUBREC'; msgId: number }
export interface PubrelMessage { type: 'PUBREL'; msgId: number }

/** The topic of a SUBSCRIBE/UNSUBSCRIBE: by name (wildcards allowed), by predefined id, or by short name. */
export type TopicRef =
  | { topicIdType: 'normal'; topicName: string }
  | { topicIdType: 'predefined'; topicId: number }
  | { topicIdType: 'short'; topicId: number };

export interface SubscribeMessage {
  type: 'SUBSCRIBE';
  dup: boolean;
  /** QoS -1 is not allowed in SUBSCRIBE. */
  qos: 0 | 1 | 2;
  msgId: number;
  topic: TopicRef;
}
export interface SubackMessage { type: 'SUBACK'; qos: QoS; topicId: number; msgId: number; returnCode: ReturnCode }
export interface UnsubscribeMessage { type: 'UNSUBSCRIBE'; msgId: number; topic: TopicRef }
export interface UnsubackMessage { type: 'UNSUBACK'; msgId: number }
/** clientId is present only when a sleeping client wakes up (§6.14). */
export interface PingreqMessage { type: 'PINGREQ'; clientId?: string }
export interface PingrespMessage { type: 'PINGRESP' }
/** duration present = the client goes to sleep for that many seconds (§6.14). */
export interface DisconnectMessage { type: 'DISCONNECT'; duration?: number }
/** willTopic '' is the empty WILLTOPICUPD: delete the will. */
export interface WillTopicUpdMessage { type: 'WILLTOPICUPD'; qos: QoS; retain: boolean; willTopic: string }
export interface WillTopicRespMessage { type: 'WILLTOPICRESP'; returnCode: ReturnCode }
export interface WillMsgUpdMessage { type: 'WILLMSGUPD'; willMsg: Buffer }
export interface WillMsgRespMessage { type: 'WILLMSGRESP'; returnCode: ReturnCode }
/** Forwarder Encapsulation (§5.5): a whole MQTT-SN frame relayed by a forwarder. */
export interface EncapsulatedMessage {
  type: 'ENCAPSULATED';
  /** Ctrl bits 1-0: broadcast radius, meaningful gateway → forwarder. */
  radius: number;
  wirelessNodeId: Buffer;
  message: SnMessage;
}

export type SnMessage =
  | AdvertiseMessage | SearchGwMessage | GwInfoMessage
  | ConnectMessage | ConnackMessage
  | WillTopicReqMessage | WillTopicMessage | WillMsgReqMessage | WillMsgMessage
  | RegisterMessage | RegackMessage
  | PublishMessage | PubackMessage | PubcompMessage | PubrecMessage | PubrelMessage
  | SubscribeMessage | SubackMessage | UnsubscribeMessage | UnsubackMessage
  | PingreqMessage | PingrespMessage | DisconnectMessage
  | WillTopicUpdMessage | WillTopicRespMessage | WillMsgUpdMessage | WillMsgRespMessage
  | EncapsulatedMessage;

export type SnMessageType = SnMessage['type'];
export type SnMessageOf<T extends SnMessageType> = Extract<SnMessage, { type: T }>;

export interface DecodeOptions {
  /** Longest ClientId accepted in CONNECT and PINGREQ; the spec says 23, some clients send more. Default 23. */
  maxClientIdLength?: number;
  /**
   * false: CONNECT's ProtocolId and ClientId (and PINGREQ's ClientId length) are not checked here but
   * handed to the caller (CONNECT then carries `protocolId`), so a gateway can answer CONNACK 0x03
   * instead of dropping the frame. Default true: such frames are malformed ('bad-protocol-id', 'bad-client-id').
   */
  checkClientIdentity?: boolean;
}

export type SnCodecErrorReason =
  | 'truncated'            // fewer bytes than the header or a mandatory field needs
  | 'length-mismatch'      // Length field disagrees with the datagram size (longer or shorter)
  | 'reserved-type'        // MsgType is reserved
  | 'reserved-topic-id-type'
  | 'bad-protocol-id'      // CONNECT ProtocolId other than 0x01
  | 'qos-not-allowed'      // e.g. QoS -1 in SUBSCRIBE
  | 'missing-field'        // a mandatory field is absent or empty
  | 'bad-client-id'        // ClientId empty or longer than allowed
  | 'out-of-range'         // encode: a value does not fit its field
  | 'frame-too-large';     // encode: frame over 65535 bytes

/** The one error the codec throws, for decode and encode alike. */
export class SnCodecError extends Error {
  constructor(readonly reason: SnCodecErrorReason, message: string) {
    super(message);
    this.name = 'SnCodecError';
  }
}
