/**
 * How long a sensor's QoS 1 PUBLISH stays in the gateway: from the moment the UDP radio hands the frame
 * to the core until the radio is given the PUBACK for it. Mosquitto's round trip is inside (the PUBACK
 * waits for the broker's); the time the datagram waited in the socket before the gateway's event loop
 * read it, and everything on the sensors' side, is not. Set beside the sensors' own round trip, it says
 * how much of a PUBACK's latency the gateway's process accounts for once it has read the frame.
 * The qos1 sensors stamp each PUBLISH with its send time (PublishTemplate.stamp, a clock both processes
 * share), so two more figures split the round trip: the sensor's send → the gateway's read (the kernel's
 * hand-over and the wait in the gateway's socket), and the sensor's send → the PUBACK handed to the
 * kernel; what the sensors see beyond that last one is the PUBACK waiting for the sensors' own process.
 *
 * Bench-only: it wraps the UDP radio's sink and send (private fields) of a gateway in this process.
 * One Map lookup per frame each way, by sender, as the qos1 sensors keep one message in flight each.
 */
import type { Gateway } from '../../gateway/gateway.js';
import type { Radio, RadioSink } from '../../radios/radio.js';
import { MsgType } from '../../sn-codec/index.js';
import { SENT_STAMP_OFFSET } from './bench-sensor.js';
import { MONOTONIC_BASE_MS, percentiles, type Percentiles } from './timing.js';

/** PUBLISH (§5.4.12): Length(1) MsgType(1) Flags(1) TopicId(2) MsgId(2); PUBACK (§5.4.13): Length(1) MsgType(1) TopicId(2) MsgId(2) ReturnCode(1). */
const PUBLISH_MSGID_OFFSET = 5;
const PUBACK_MSGID_OFFSET = 4;
const QOS_MASK = 0x60;
const QOS_1 = 0x20;

export interface ResidenceFigures extends Percentiles {
  samples: number;
  /** The sensor's send → the gateway's read of the frame. */
  beforeRead: Percentiles;
  /** The sensor's send → the PUBACK handed to the kernel. */
  toPuback: Percentiles;
}

export class ResidenceProbe {
  private readonly readAt = new Map<string, { msgId: number; at: number; sentAt: number }>();
  private readonly samples = new Float64Array(4_000_000);
  private readonly beforeRead = new Float64Array(4_000_000);
  private readonly toPuback = new Float64Array(4_000_000);
  private count = 0;
  private measuring = false;

  constructor(gateway: Gateway) {
    const radio = gateway.radios[0] as Radio & { sink: RadioSink | undefined };
    const sink = radio.sink;
    if (!sink) throw new Error('residence probe: the UDP radio has not started');
    const frame = sink.frame;
    radio.sink = {
      ...sink,
      frame: (from, address, bytes) => {
        // bytes[0] === 1 is the 3-byte Length form (§5.2.1), whose fields sit two bytes later: not the bench's frames.
        if (this.measuring && bytes[1] === MsgType.PUBLISH && (bytes[2] & QOS_MASK) === QOS_1 && bytes[0] !== 1) {
          const entry = this.readAt.get(address);
          const msgId = bytes.readUInt16BE(PUBLISH_MSGID_OFFSET);
          const at = performance.now();
          const sentAt = bytes.readDoubleBE(SENT_STAMP_OFFSET) - MONOTONIC_BASE_MS;
          if (entry) {
            entry.msgId = msgId;
            entry.at = at;
            entry.sentAt = sentAt;
          } else {
            this.readAt.set(address, { msgId, at, sentAt });
          }
        }
        frame.call(sink, from, address, bytes);
      },
    };
    const send = radio.send.bind(radio);
    radio.send = (address, bytes) => {
      if (this.measuring && bytes[1] === MsgType.PUBACK && this.count < this.samples.length) {
        const entry = this.readAt.get(address);
        if (entry && entry.at > 0 && entry.msgId === bytes.readUInt16BE(PUBACK_MSGID_OFFSET)) {
          const now = performance.now();
          this.samples[this.count] = now - entry.at;
          this.beforeRead[this.count] = entry.at - entry.sentAt;
          this.toPuback[this.count++] = now - entry.sentAt;
          entry.at = 0;
        }
      }
      send(address, bytes);
    };
  }

  /** For WindowWatch: measures between the load generator's window start and end. */
  readonly onWindow = (phase: 'start' | 'end'): void => {
    this.measuring = phase === 'start';
    if (this.measuring) {
      this.count = 0;
      this.readAt.clear();
    }
  };

  figures(): ResidenceFigures {
    const n = this.count;
    return { samples: n, ...percentiles(this.samples, n), beforeRead: percentiles(this.beforeRead, n), toPuback: percentiles(this.toPuback, n) };
  }
}
