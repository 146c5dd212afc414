/**
 * An MQTT PUBLISH packet (MQTT 3.1.1 §3.3, MQTT 5 §3.3) encoded into one Buffer, so the aggregating
 * upstream hands the socket one chunk per message instead of mqtt-packet's five or six small writes.
 * No properties in MQTT 5 (a zero property length): what mqtt.js sends for a plain publish.
 */

/** Fixed-header flag of a PUBLISH that may have been sent before. */
const DUP = 0x08;

export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, packetId: number, mqtt5: boolean): Buffer {
  const remaining = publishRemainingLength(topic, payload, qos, mqtt5);
  const packet = Buffer.allocUnsafe(packetLength(remaining));
  encodePublishInto(packet, 0, remaining, topic, payload, qos, retain, packetId, mqtt5);
  return packet;
}

/** The Remaining Length of that PUBLISH packet: everything after its fixed header. */
export function publishRemainingLength(topic: string, payload: Buffer, qos: 0 | 1 | 2, mqtt5: boolean): number {
  return 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + (mqtt5 ? 1 : 0) + payload.length;
}

/** Bytes of a whole packet whose Remaining Length is `remaining`. */
export function packetLength(remaining: number): number {
  return 1 + (remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4) + remaining;
}

/**
 * Writes the PUBLISH packet at `target[offset]`, its Remaining Length already reckoned by the caller
 * (publishRemainingLength, which also tells the room to make: packetLength); returns the offset after it.
 * The upstream writes a turn's packets into one buffer this way.
 */
export function encodePublishInto(target: Buffer, offset: number, remaining: number, topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, packetId: number, mqtt5: boolean): number {
  target[offset++] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  // Remaining Length: 7 bits a byte, least significant first, high bit = more follows.
  let left = remaining;
  do {
    let byte = left & 0x7f;
    left >>>= 7;
    if (left > 0) byte |= 0x80;
    target[offset++] = byte;
  } while (left > 0);
  const topicStart = offset + 2;
  const topicBytes = target.write(topic, topicStart, 'utf8');
  target.writeUInt16BE(topicBytes, offset);
  offset = topicStart + topicBytes;
  if (qos > 0) {
    target.writeUInt16BE(packetId, offset);
    offset += 2;
  }
  if (mqtt5) target[offset++] = 0;
  return offset + payload.copy(target, offset);
}

/** Sets the DUP flag of an encoded PUBLISH in place (a resend after reconnecting); `at` is where the packet starts. */
export function markDup(packet: Buffer, at = 0): void {
  packet[at] |= DUP;
}
