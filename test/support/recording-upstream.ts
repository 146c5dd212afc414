/**
 * An Upstream for unit tests only — not a broker. It exists so the core's state machine can be tested
 * deterministically: the test sees every publish/subscribe/unsubscribe, decides when the "broker"
 * accepts (by running the done callbacks), takes the connection down and up, and delivers messages.
 * Real-broker behaviour (Mosquitto, the embedded broker) is covered by test/e2e.
 */
import { reportPublished, type BrokerQoS, type PublishDone, type PublishResult, type Upstream, type UpstreamSink } from '../../gateway/broker/upstream.js';

export interface PublishCall {
  topic: string;
  payload: Buffer;
  qos: BrokerQoS;
  retain: boolean;
  /** Whether the test already answered it (accept or fail). */
  settled: boolean;
  /** What the core handed in to hear the outcome (a function, or an object with published()). */
  done: PublishDone | undefined;
  /** The broker accepted it: runs the core's done callback. */
  accept(): void;
  /** It failed without the broker's answer (the connection died with it): the client's resend is the cure. */
  fail(error?: Error): void;
  /** The broker answered with a failure reason code (MQTT 5: 0x87 not authorized). */
  refuse(): void;
}

export interface SubscribeCall {
  filter: string;
  qos: BrokerQoS;
  settled: boolean;
  /** The broker's SUBACK; `granted` defaults to the QoS asked for, 0x80 is a refusal. */
  grant(granted?: number): void;
}

export class RecordingUpstream implements Upstream {
  connected = true;
  /** Unsettled publishes at which publish() refuses with false (the outgoing queue bound). */
  maxPending = Number.POSITIVE_INFINITY;
  readonly publishes: PublishCall[] = [];
  readonly subscribes: SubscribeCall[] = [];
  readonly unsubscribes: string[] = [];
  private sink: UpstreamSink | undefined;

  get pending(): number {
    return this.publishes.filter((p) => !p.settled).length;
  }

  start(sink: UpstreamSink): Promise<void> {
    this.sink = sink;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: PublishDone): boolean {
    if (this.pending >= this.maxPending) return false;
    const call: PublishCall = {
      topic, payload: Buffer.from(payload), qos, retain, settled: false, done,
      accept: () => settle({}),
      fail: (error = new Error('refused by the test')) => settle({ error }),
      refuse: () => settle({ error: new Error('Publish error: Not authorized'), refused: 0x87 }),
    };
    const settle = (result: PublishResult) => {
      if (call.settled) throw new Error(`publish to ${topic} settled twice`);
      call.settled = true;
      reportPublished(done, result);
    };
    this.publishes.push(call);
    return true;
  }

  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void {
    const call: SubscribeCall = {
      filter, qos, settled: false,
      grant: (granted = qos) => {
        if (call.settled) throw new Error(`subscribe to ${filter} granted twice`);
        call.settled = true;
        done?.(granted);
      },
    };
    this.subscribes.push(call);
  }

  unsubscribe(filter: string): void {
    this.unsubscribes.push(filter);
  }

  /** The broker connection goes down or comes back; the core hears of it as from the real upstream. */
  setConnected(up: boolean): void {
    this.connected = up;
    this.sink!.connectionChanged(up);
  }

  /** A message from the broker. */
  deliver(topic: string, payload: string | Buffer, qos: BrokerQoS = 0, retain = false): void {
    this.sink!.message(topic, Buffer.from(payload), qos, retain);
  }

  /** The last publish on `topic` (or the last one at all). */
  lastPublish(topic?: string): PublishCall | undefined {
    const matching = topic === undefined ? this.publishes : this.publishes.filter((p) => p.topic === topic);
    return matching[matching.length - 1];
  }

  /** Grants every subscribe not answered yet, in order. */
  grantAll(): void {
    for (const s of this.subscribes) if (!s.settled) s.grant();
  }
}
