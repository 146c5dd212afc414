/**
 * An MQTT PUBLISH packet (MQTT 3.1.1 §3.3, MQTT 5 §3.3) encoded into one Buffer, so the aggregating
 * upstream hands the socket one chunk per message instead of mqtt-packet's five or six small writes.
 * No properties in MQTT 5 (a zero property length): what mqtt.js sends for a plain publish.
 */

/** Fixed-header flag of a PUBLISH that may have been sent before. */
const DUP = 0x08;

export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, packetId: number, mqtt5: boolean): Buffer {
  const topicBytes = Buffer.byteLength(topic);
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (mqtt5 ? 1 : 0) + payload.length;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  packet[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  // Remaining Length: 7 bits a byte, least significant first, high bit = more follows.
  let offset = 1;
  let left = remaining;
  do {
    let byte = left & 0x7f;
    left >>>= 7;
    if (left > 0) byte |= 0x80;
    packet[offset++] = byte;
  } while (left > 0);
  packet.writeUInt16BE(topicBytes, offset);
  offset += 2;
  offset += packet.write(topic, offset, 'utf8');
  if (qos > 0) {
    packet.writeUInt16BE(packetId, offset);
    offset += 2;
  }
  if (mqtt5) packet[offset++] = 0;
  payload.copy(packet, offset);
  return packet;
}

/** Sets the DUP flag of an encoded PUBLISH in place (a resend after reconnecting). */
export function markDup(packet: Buffer): void {
  packet[0] |= DUP;
}
