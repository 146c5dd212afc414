/**
 * Reads the PUBACKs for the gateway's own QoS 1 publishes straight off the broker connection's bytes,
 * before mqtt.js's parser: everything else (and any PUBACK not ours) goes on to mqtt.js unchanged and
 * in order. mqtt.js would parse each PUBACK through its stream machinery into a packet object, emit it,
 * look it up in its own store, miss, and take a process.nextTick before the next packet (issue 13).
 *
 * Only the plain forms are taken: MQTT 3.1.1's (Remaining Length 2) and MQTT 5's without properties
 * (2, or 3 with a reason code). A PUBACK with properties, or one cut by a chunk boundary in a way not
 * worth holding, goes to mqtt.js, whose 'packetreceive' the upstream still listens to.
 *
 * It also takes the PINGRESPs that answer the upstream's own PINGREQs (prompt-ack.ts), as many as it
 * sent: mqtt.js did not ask for them, and parsing one would re-arm its keep-alive timer for nothing.
 * PINGRESPs come in the order of the PINGREQs, so mqtt.js still gets one for each of its own.
 */

/** PUBACK's fixed-header byte (MQTT 3.1.1 §3.4, MQTT 5 §3.4). */
const PUBACK = 0x40;
/** PINGRESP's (§3.13), Remaining Length 0. */
const PINGRESP = 0xd0;

export class PubackReader {
  /** Bytes of a packet cut by a chunk's end that still have to go through to mqtt.js. */
  private passing = 0;
  /** The start of a packet cut by a chunk's end (a PUBACK that may be ours, or a header: a few bytes), held back. */
  private held: Buffer | undefined;
  /** Set when the stream stops looking like MQTT: everything goes to mqtt.js, which reports it and closes. */
  private lost = false;
  /** PUBACKs taken here, for tests and the bench. */
  taken = 0;

  constructor(
    /** Whether a PUBACK with this packet id answers a publish of ours. */
    private readonly isOurs: (id: number) => boolean,
    private readonly acknowledged: (id: number, reasonCode: number | undefined) => void,
    /** Whether a PINGRESP answers a PINGREQ of the upstream's own (prompt-ack.ts): taken here, mqtt.js never asked. */
    private readonly pingrespIsOurs: () => boolean = () => false,
  ) {}

  /**
   * One chunk from the connection: our PUBACKs are handled, the rest handed to `pass` in order (the
   * chunk itself when nothing was taken from it, views on it otherwise).
   */
  read(chunk: Buffer, pass: (part: Buffer) => void): void {
    if (this.lost) {
      pass(chunk);
      return;
    }
    if (this.held) {
      // Rare: a few bytes held from the last chunk; joined, then read as one.
      const held = this.held;
      this.held = undefined;
      chunk = Buffer.concat([held, chunk]);
    }
    const end = chunk.length;
    let at = 0;
    if (this.passing > 0) {
      at = Math.min(this.passing, end);
      this.passing -= at;
    }
    let runStart = 0;
    while (at < end) {
      const first = chunk[at];
      // Remaining Length: 1 to 4 bytes, 7 bits each, least significant first (MQTT §2.2.3).
      let remaining = 0;
      let lengthBytes = 0;
      let complete = false;
      while (at + 1 + lengthBytes < end && lengthBytes < 4) {
        const byte = chunk[at + 1 + lengthBytes];
        remaining |= (byte & 0x7f) << (7 * lengthBytes);
        lengthBytes++;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete && lengthBytes === 4) {
        // Not MQTT (a fifth length byte): mqtt.js reports the malformed length and closes the connection.
        this.lost = true;
        break;
      }
      const total = 1 + lengthBytes + remaining;
      const mayBeOurs = first === PUBACK && (remaining === 2 || remaining === 3);
      if (!complete || at + total > end) {
        // Cut by the chunk's end. A cut header (a few bytes) or a PUBACK that may be ours is held back
        // until the next chunk completes it; anything else goes through now, and its rest after it.
        if (!complete || mayBeOurs) {
          if (at > runStart) pass(chunk.subarray(runStart, at));
          this.held = Buffer.from(chunk.subarray(at, end));
          return;
        }
        this.passing = at + total - end;
        break;
      }
      if (mayBeOurs) {
        const id = (chunk[at + 2] << 8) | chunk[at + 3];
        if (this.isOurs(id)) {
          if (at > runStart) pass(chunk.subarray(runStart, at));
          runStart = at + total;
          this.taken++;
          this.acknowledged(id, remaining === 3 ? chunk[at + 4] : undefined);
        }
      } else if (first === PINGRESP && remaining === 0 && this.pingrespIsOurs()) {
        if (at > runStart) pass(chunk.subarray(runStart, at));
        runStart = at + total;
      }
      at += total;
    }
    if (runStart === 0) pass(chunk);
    else if (runStart < end) pass(chunk.subarray(runStart, end));
  }
}
