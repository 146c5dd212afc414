/**
 * Transparent mode's per-client broker sessions in the core (§4): CONNACK waits for the broker, refusals,
 * a second CONNECT while the first is still opening, and how each way of ending closes the connection.
 * A recording upstream answers only when the test says so; real-broker behaviour is in test/e2e/17 and 18.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { reportPublished, type ClientSession, type ClientSessionOptions, type ClientSessionSink, type OpenResult, type PublishDone } from '../../gateway/broker/upstream.js';
import { MemoryRadio } from '../support/memory-radio.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

interface OpenCall {
  options: ClientSessionOptions;
  sink: ClientSessionSink;
  answer(result: 'accept' | { error: string; refused: boolean }): RecordedSession | undefined;
}

class RecordedSession implements ClientSession {
  closed: 'clean' | 'cut' | undefined;
  readonly published: string[] = [];
  publish(topic: string, _payload: Buffer, _qos: 0 | 1 | 2, _retain: boolean, done?: PublishDone): boolean {
    this.published.push(topic);
    reportPublished(done, {});
    return true;
  }
  subscribe(_filter: string, qos: 0 | 1 | 2, done?: (granted: number) => void): void { done?.(qos); }
  unsubscribe(): void {}
  close(clean: boolean, done?: () => void): void {
    this.closed = clean ? 'clean' : 'cut';
    done?.();
  }
}

/** The aggregating recording upstream plus openClient: a transparent upstream under the test's control. */
class TransparentRecording extends RecordingUpstream {
  readonly opens: OpenCall[] = [];
  openClient(options: ClientSessionOptions, sink: ClientSessionSink, done: (result: OpenResult) => void): void {
    this.opens.push({
      options, sink,
      answer: (result) => {
        if (result === 'accept') {
          const session = new RecordedSession();
          done({ session });
          return session;
        }
        done(result);
        return undefined;
      },
    });
  }
}

function world() {
  const config = parseConfig('gateway: { advertiseInterval: 0 }');
  const clock = new ManualClock();
  const radio = new MemoryRadio();
  const upstream = new TransparentRecording();
  const core = new GatewayCore({ gateway: config.gateway, topics: config.topics, upstream, clock });
  core.addRadio(radio);
  void radio.start(core.radioSink);
  void upstream.start(core.upstreamSink);
  core.start();
  const at = 'udp:127.0.0.1:4000';
  const connect = (clientId: string, extra: { cleanSession?: boolean; duration?: number } = {}) =>
    radio.inject(at, { type: 'CONNECT', will: false, cleanSession: extra.cleanSession ?? true, duration: extra.duration ?? 60, clientId });
  return { clock, radio, upstream, core, at, connect, take: () => radio.take(at) };
}

describe('transparent mode in the core', () => {
  it('§6.2 CONNACK waits for the broker to accept the client\'s own session, opened with its ClientId, CleanSession and keep-alive', () => {
    const w = world();
    w.connect('node', { cleanSession: false, duration: 30 });
    expect(w.take()).toEqual([]);
    expect(w.upstream.opens.map((o) => o.options)).toEqual([{ clientId: 'node', cleanSession: false, keepAlive: 30, will: undefined }]);
    expect(w.core.client('node')?.state).toBe('connecting');
    w.upstream.opens[0].answer('accept');
    expect(w.take()).toEqual([{ type: 'CONNACK', returnCode: 0 }]);
    expect(w.core.client('node')?.state).toBe('active');
  });

  it('§6.2 a broker refusal is CONNACK 0x03; an unreachable broker CONNACK 0x01; the client is disconnected', () => {
    const w = world();
    w.connect('refused');
    w.upstream.opens[0].answer({ error: 'Not authorized', refused: true });
    expect(w.take()).toEqual([{ type: 'CONNACK', returnCode: 3 }]);
    expect(w.core.client('refused')?.state).toBe('disconnected');
    w.connect('unreachable');
    w.upstream.opens[1].answer({ error: 'connect ECONNREFUSED', refused: false });
    expect(w.take()).toEqual([{ type: 'CONNACK', returnCode: 1 }]);
  });

  it('§6.2 a second CONNECT while the first is opening: one connection at a time; the stale one is closed cleanly', () => {
    const w = world();
    w.connect('twice');
    w.connect('twice');
    expect(w.upstream.opens).toHaveLength(1); // the second waits for the first to settle
    const first = w.upstream.opens[0].answer('accept')!;
    expect(first.closed).toBe('clean');
    expect(w.upstream.opens).toHaveLength(2);
    expect(w.take()).toEqual([]);
    w.upstream.opens[1].answer('accept');
    expect(w.take()).toEqual([{ type: 'CONNACK', returnCode: 0 }]);
  });

  it('§6.11 a lost client\'s connection is cut (the broker publishes the will); the gateway publishes none itself', () => {
    const w = world();
    w.radio.inject(w.at, { type: 'CONNECT', will: true, cleanSession: true, duration: 10, clientId: 'willed' });
    w.take();
    w.radio.inject(w.at, { type: 'WILLTOPIC', qos: 1, retain: true, willTopic: 'w/t' });
    w.take();
    w.radio.inject(w.at, { type: 'WILLMSG', willMsg: Buffer.from('bye') });
    expect(w.upstream.opens[0].options.will).toEqual({ topic: 'w/t', payload: Buffer.from('bye'), qos: 1, retain: true });
    const session = w.upstream.opens[0].answer('accept')!;
    for (let i = 0; i < 16; i++) w.clock.advance(1000);
    expect(w.core.client('willed')?.state).toBe('lost');
    expect(session.closed).toBe('cut');
    expect(w.upstream.publishes).toEqual([]);
    expect(w.core.stats.willsPublished).toBe(0);
  });

  it('§6.12 DISCONNECT closes the connection cleanly; §6.14 sleeping keeps it open', () => {
    const w = world();
    w.connect('sleepy');
    const session = w.upstream.opens[0].answer('accept')!;
    w.radio.inject(w.at, { type: 'DISCONNECT', duration: 100 });
    expect(session.closed).toBeUndefined();
    w.radio.inject(w.at, { type: 'DISCONNECT' });
    expect(session.closed).toBe('clean');
  });

  it('the broker ending the connection (takeover, kick): the client gets DISCONNECT and is lost', () => {
    const w = world();
    w.connect('kicked');
    w.upstream.opens[0].answer('accept');
    w.take();
    w.upstream.opens[0].sink.closed('the broker closed its connection');
    expect(w.take()).toEqual([{ type: 'DISCONNECT' }]);
    expect(w.core.client('kicked')?.state).toBe('lost');
  });

  it('§6.6 PUBLISH goes out on the client\'s own connection, not the gateway\'s', () => {
    const w = world();
    w.connect('pub');
    const session = w.upstream.opens[0].answer('accept')!;
    w.take();
    w.radio.inject(w.at, { type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'a/b' });
    const [regack] = w.take();
    w.radio.inject(w.at, { type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: (regack as { topicId: number }).topicId, msgId: 2, payload: Buffer.from('x') });
    expect(session.published).toEqual(['a/b']);
    expect(w.upstream.publishes).toEqual([]);
    expect(w.take()).toMatchObject([{ type: 'PUBACK', msgId: 2, returnCode: 0 }]);
  });
});
