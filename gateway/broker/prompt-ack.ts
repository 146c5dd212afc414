/**
 * Keeps the broker's answers from waiting ~40 ms on our TCP acknowledgement.
 *
 * A broker without TCP_NODELAY (Mosquitto's default: `set_tcp_nodelay false`) sends its first small
 * packet at once and holds the next ones back (Nagle's algorithm) until that first one is acknowledged.
 * Linux acknowledges with our next write, or after its delayed-ACK timer: 40 ms or more. One client
 * with one message in flight never meets this; the gateway's one connection carries many sensors'
 * messages, so two sensors publishing QoS 1 in the same moment, with nothing else to write, left the
 * second PUBACK waiting 40 ms (issue 13: 2 sensors at once, PUBACK p50 13–26 ms; 10 at once, 43 ms).
 *
 * So when something comes from the broker while answers are still owed us and we write nothing for
 * `delayMs`, we write a PINGREQ (2 bytes, MQTT §3.12): it carries the acknowledgement, and the broker's
 * held packets leave at once. Under traffic our own publishes carry it first and no PINGREQ is sent;
 * waiting `delayMs` rather than answering every read keeps it that way (one PINGREQ per read costs the
 * broker a packet per read; README, Benchmarks, `burst`).
 */
export class PromptAck {
  /** One timer, re-armed with refresh(): under traffic it is armed about once a millisecond. */
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  /** Something came from the broker after our last write: its acknowledgement has not gone yet. */
  private unacknowledged = false;
  /** PINGREQs written to carry an acknowledgement. */
  sent = 0;

  constructor(
    /** Whether the broker still owes us an answer (a PUBACK, PUBREC or PUBCOMP). */
    private readonly awaitingAnswers: () => boolean,
    /** Writes a PINGREQ to the connection. */
    private readonly ping: () => void,
    private readonly delayMs = 1,
  ) {}

  /** Something was read from the broker. */
  readonly read = (): void => {
    this.unacknowledged = true;
    if (this.armed || !this.awaitingAnswers()) return;
    this.armed = true;
    if (this.timer === undefined) this.timer = setTimeout(this.due, this.delayMs).unref();
    else this.timer.refresh();
  };

  /** Something was written to the broker: it carried the acknowledgement of everything read before. */
  wrote(): void {
    this.unacknowledged = false;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = false;
  }

  // A read between a write and this moment is acknowledged now, a little early rather than 40 ms late.
  private readonly due = (): void => {
    this.armed = false;
    if (!this.unacknowledged || !this.awaitingAnswers()) return;
    this.unacknowledged = false;
    this.sent++;
    this.ping();
  };
}

/** PINGREQ: fixed header 0xC0, Remaining Length 0 (MQTT 3.1.1 and 5, §3.12). */
export const PINGREQ_PACKET = Buffer.from([0xc0, 0x00]);
