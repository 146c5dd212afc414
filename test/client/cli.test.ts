/**
 * The `mqtt-sn` command, run as users run it (node bin/mqtt-sn.js), against a scripted fake gateway on 127.0.0.1.
 * Checks the exact frames each invocation sends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { shortTopicId } from '../../sn-codec/index.js';
import { startFakeGateway, type FakeGateway } from './fake-gateway.js';
import { runCli } from '../support/cli.js';

/** The CLI is a process of its own (and may rebuild first); give the first frame time to come on a loaded machine. */
const FIRST_FRAME_MS = 15_000;



let gw: FakeGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function gateway(): Promise<FakeGateway> {
  gw = await startFakeGateway();
  return gw;
}

describe('mqtt-sn pub', () => {
  it('-q 1: CONNECT, §6.5 REGISTER, §6.6 PUBLISH QoS 1, DISCONNECT, byte for byte', async () => {
    const { peer, port, frames } = await gateway();
    const run = runCli(['pub', '-p', String(port), '-i', 'cli-1', '-t', 'home/x', '-m', '21.5', '-q', '1']);

    expect(await peer.expect('CONNECT', FIRST_FRAME_MS)).toEqual({ type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'cli-1' });
    peer.reply({ type: 'CONNACK', returnCode: 0 });
    const register = await peer.expect('REGISTER');
    peer.reply({ type: 'REGACK', topicId: 0x0102, msgId: register.msgId, returnCode: 0 });
    const publish = await peer.expect('PUBLISH');
    peer.reply({ type: 'PUBACK', topicId: 0x0102, msgId: publish.msgId, returnCode: 0 });
    await peer.expect('DISCONNECT');
    peer.reply({ type: 'DISCONNECT' });

    const { code, stderr } = await run;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [m1, m2] = [register.msgId >> 8, register.msgId & 0xff];
    const [p1, p2] = [publish.msgId >> 8, publish.msgId & 0xff];
    expect(frames.map((f) => f.toString('hex'))).toEqual([
      Buffer.concat([Buffer.from([0x0b, 0x04, 0x04, 0x01, 0x00, 0x3c]), Buffer.from('cli-1')]).toString('hex'),
      Buffer.concat([Buffer.from([0x0c, 0x0a, 0x00, 0x00, m1, m2]), Buffer.from('home/x')]).toString('hex'),
      // Flags 0x20: QoS 1, normal topic id.
      Buffer.concat([Buffer.from([0x0b, 0x0c, 0x20, 0x01, 0x02, p1, p2]), Buffer.from('21.5')]).toString('hex'),
      '0218',
    ]);
  });

  it('-q -1 -T 5: §6.8 one PUBLISH on predefined id 5 and no CONNECT', async () => {
    const { peer, port, frames } = await gateway();
    const { code, stderr } = await runCli(['pub', '-p', String(port), '-q', '-1', '-T', '5', '-m', 'hi']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    await peer.expect('PUBLISH', FIRST_FRAME_MS);
    // Flags 0x61: QoS -1 (bits 11), predefined topic id (01); TopicId 5; MsgId 0.
    expect(frames).toEqual([Buffer.from([0x09, 0x0c, 0x61, 0x00, 0x05, 0x00, 0x00, 0x68, 0x69])]);
  });

  it('-s -t ab: §6.7 PUBLISH QoS 0 on a short topic, no REGISTER', async () => {
    const { peer, port, frames } = await gateway();
    const run = runCli(['pub', '-p', String(port), '-i', 'cli-2', '-s', '-t', 'ab', '-m', 'on', '-r']);
    await peer.expect('CONNECT', FIRST_FRAME_MS);
    peer.reply({ type: 'CONNACK', returnCode: 0 });
    expect(await peer.expect('PUBLISH')).toEqual({ type: 'PUBLISH', dup: false, qos: 0, retain: true, topicIdType: 'short', topicId: shortTopicId('ab'), msgId: 0, payload: Buffer.from('on') });
    await peer.expect('DISCONNECT');
    peer.reply({ type: 'DISCONNECT' });
    expect((await run).code).toBe(0);
    // Flags 0x12: retain, short topic name; TopicId "ab"; MsgId 0.
    expect(frames[1]).toEqual(Buffer.from([0x09, 0x0c, 0x12, 0x61, 0x62, 0x00, 0x00, 0x6f, 0x6e]));
  });

  it('a CONNACK refusal exits 1 with the return code', async () => {
    const { peer, port } = await gateway();
    const run = runCli(['pub', '-p', String(port), '-t', 'a', '-m', 'x']);
    await peer.expect('CONNECT', FIRST_FRAME_MS);
    peer.reply({ type: 'CONNACK', returnCode: 0x01 });
    const { code, stderr } = await run;
    expect(code).toBe(1);
    expect(stderr).toBe('mqtt-sn: CONNECT rejected: return code 0x01 (rejected: congestion)\n');
  });

  it('a usage mistake exits 1 with a clear message', async () => {
    const { code, stderr } = await runCli(['pub', '-t', 'home/x', '-q', '-1', '-m', 'x']);
    expect(code).toBe(1);
    expect(stderr).toContain('-q -1 needs a predefined topic id (-T) or a short topic (-s)');
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: mqtt-sn pub\|sub\|search \[options\]/);
  });
});

describe('mqtt-sn sub', () => {
  it('-C 1 -v: §6.9 SUBSCRIBE, §6.5 REGACK the gateway REGISTER, print "topic payload", DISCONNECT', async () => {
    const { peer, port } = await gateway();
    const run = runCli(['sub', '-p', String(port), '-i', 'cli-3', '-t', 'home/#', '-q', '1', '-C', '1', '-v']);
    await peer.expect('CONNECT', FIRST_FRAME_MS);
    peer.reply({ type: 'CONNACK', returnCode: 0 });
    const subscribe = await peer.expect('SUBSCRIBE');
    expect(subscribe).toEqual({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: subscribe.msgId, topic: { topicIdType: 'normal', topicName: 'home/#' } });
    peer.reply({ type: 'SUBACK', qos: 1, topicId: 0, msgId: subscribe.msgId, returnCode: 0 });
    peer.reply({ type: 'REGISTER', topicId: 3, msgId: 1, topicName: 'home/x' });
    expect(await peer.expect('REGACK')).toEqual({ type: 'REGACK', topicId: 3, msgId: 1, returnCode: 0 });
    peer.reply({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: 3, msgId: 2, payload: Buffer.from('21.5') });
    expect(await peer.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 3, msgId: 2, returnCode: 0 });
    expect(await peer.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT' });
    peer.reply({ type: 'DISCONNECT' });

    const { code, stdout, stderr } = await run;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('home/x 21.5\n');
  });

  it('-T 7 -t name -C 1 -v: §6.7 a predefined-id message prints under the name given with -t', async () => {
    const { peer, port } = await gateway();
    const run = runCli(['sub', '-p', String(port), '-T', '7', '-t', 'garden/temp', '-C', '1', '-v']);
    await peer.expect('CONNECT', FIRST_FRAME_MS);
    peer.reply({ type: 'CONNACK', returnCode: 0 });
    const subscribe = await peer.expect('SUBSCRIBE');
    expect(subscribe.topic).toEqual({ topicIdType: 'predefined', topicId: 7 });
    peer.reply({ type: 'SUBACK', qos: 0, topicId: 7, msgId: subscribe.msgId, returnCode: 0 });
    peer.reply({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'predefined', topicId: 7, msgId: 0, payload: Buffer.from('18') });
    await peer.expect('DISCONNECT');
    peer.reply({ type: 'DISCONNECT' });
    const { code, stdout } = await run;
    expect(code).toBe(0);
    expect(stdout).toBe('garden/temp 18\n');
  });

  it('-W without -C: stops listening after the timeout, DISCONNECTs and exits 0', async () => {
    const { peer, port } = await gateway();
    // -W counts from the start: long enough for CONNECT and SUBSCRIBE on a busy machine, so it is the
    // listening that times out (a -W that ran out before the SUBACK would exit 1 instead).
    const run = runCli(['sub', '-p', String(port), '-t', 'a/b', '-W', '5']);
    await peer.expect('CONNECT', FIRST_FRAME_MS);
    peer.reply({ type: 'CONNACK', returnCode: 0 });
    const subscribe = await peer.expect('SUBSCRIBE');
    peer.reply({ type: 'SUBACK', qos: 0, topicId: 4, msgId: subscribe.msgId, returnCode: 0 });
    await peer.expect('DISCONNECT', FIRST_FRAME_MS);
    peer.reply({ type: 'DISCONNECT' });
    const { code, stdout, stderr } = await run;
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('-W 1 with a gateway that never answers: exits 1 naming the timeout', async () => {
    const { peer, port } = await gateway();
    const run = runCli(['sub', '-p', String(port), '-t', 'a/b', '-W', '1']);
    await peer.expect('CONNECT', FIRST_FRAME_MS);
    const { code, stderr } = await run;
    expect(code).toBe(1);
    expect(stderr).toBe('mqtt-sn: timed out after 1 s waiting for the gateway\n');
  });

  it('-d prints each frame on stderr as the message and its bytes', async () => {
    const { peer, port } = await gateway();
    const run = runCli(['pub', '-p', String(port), '-i', 'dbg', '-q', '-1', '-s', '-t', 'zz', '-n', '-d']);
    await peer.expect('PUBLISH', FIRST_FRAME_MS);
    const { code, stderr } = await run;
    expect(code).toBe(0);
    expect(stderr).toBe('-> PUBLISH {"dup":false,"qos":-1,"retain":false,"topicIdType":"short","topicId":31354,"msgId":0,"payload":"0x"}  0x070c627a7a0000\n');
  });
});
