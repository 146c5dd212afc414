/**
 * The PUBLISH packets of one event-loop turn, encoded one after another into one reused buffer and taken
 * out as one chunk for the broker connection (issue 13): no Buffer per message, and one write to the
 * stream per turn instead of one per message (each buffered by the corked stream as an entry of its own).
 */
import { encodePublishInto, markDup, packetLength, publishRemainingLength } from './publish-packet.js';

/** What the buffer starts at, and what it shrinks back to after a turn that needed more. */
const KEPT_BYTES = 16 * 1024;

export class PublishBatch {
  private buffer = Buffer.allocUnsafeSlow(KEPT_BYTES);
  private used = 0;

  /** Bytes waiting to be taken. */
  get size(): number {
    return this.used;
  }

  /** Appends one PUBLISH; `dup` marks a resend (MQTT 3.1.1 §3.3.1.1). */
  add(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, packetId: number, mqtt5: boolean, dup: boolean): void {
    const remaining = publishRemainingLength(topic, payload, qos, mqtt5);
    const length = packetLength(remaining);
    if (this.used + length > this.buffer.length) this.grow(this.used + length);
    const at = this.used;
    this.used = encodePublishInto(this.buffer, at, remaining, topic, payload, qos, retain, packetId, mqtt5);
    if (dup) markDup(this.buffer, at);
  }

  /** The packets added since the last take, as one Buffer of their own (the stream may hold it); undefined if none. */
  take(): Buffer | undefined {
    if (this.used === 0) return undefined;
    const packets = Buffer.from(this.buffer.subarray(0, this.used));
    this.used = 0;
    if (this.buffer.length > KEPT_BYTES) this.buffer = Buffer.allocUnsafeSlow(KEPT_BYTES);
    return packets;
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(needed, 2 * this.buffer.length));
    this.buffer.copy(bigger, 0, 0, this.used);
    this.buffer = bigger;
  }
}
