/**
 * §6.9, §6.6: what a real Mosquitto refuses reaches the sensor as a refusal. The broker's access rules
 * come from Mosquitto's dynamic-security plugin (its plain acl_file never refuses a SUBSCRIBE in 2.0:
 * it only filters deliveries), denying subscribe and publish on `denied/#` for anonymous clients.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import { connect, register, startGateway, type GatewayUnderTest } from '../support/harness.js';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { WAIT } from '../support/wait.js';

const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** Everything allowed, except subscribing and publishing under denied/ . */
const accessRules = {
  defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
  clients: [],
  groups: [{ groupname: 'anonymous', roles: [{ rolename: 'refuse-denied' }], clients: [] }],
  roles: [{
    rolename: 'refuse-denied',
    acls: [
      { acltype: 'subscribePattern', topic: 'denied/#', allow: false },
      { acltype: 'publishClientSend', topic: 'denied/#', allow: false },
    ],
  }],
  anonymousGroup: 'anonymous',
};

describe.each([4, 5] as const)('09 broker refusals (Mosquitto access rules, MQTT protocol level %i)', (protocolVersion) => {
  let broker: RunningBroker & { dir: string };
  let gw: GatewayUnderTest;
  beforeAll(async () => {
    broker = await startMosquitto({
      files: (dir) => writeFileSync(join(dir, 'dynsec.json'), JSON.stringify(accessRules), { mode: 0o644 }),
      // log_type all: Mosquitto logs each denied PUBLISH (a debug line).
      extraLines: (dir) => ['log_type all', `plugin ${process.env.MOSQUITTO_DYNSEC ?? DYNSEC_PLUGIN}`, `plugin_opt_config_file ${dir}/dynsec.json`],
    });
    const config = parseConfig(`
gateway: { advertiseInterval: 0 }
broker: { url: ${broker.url}, protocolVersion: ${protocolVersion}, reconnectMin: 0.2, reconnectMax: 1 }
radios: [ { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1 } ]
`, '/tmp/refusals.yaml');
    (config.radios[0] as UdpRadioConfig).port = 0;
    gw = await startGateway(config);
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('§6.9 a filter the broker refuses (SUBACK 0x80) is SUBACK 0x03, and the client holds no subscription', async () => {
    const s = await gw.sensor();
    await connect(s, `refused-sub-${protocolVersion}`);
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topic: { topicIdType: 'normal', topicName: 'denied/x' } });
    expect(await s.expect('SUBACK')).toMatchObject({ msgId: 1, returnCode: 0x03 });
    expect(gw.gateway.core.client(`refused-sub-${protocolVersion}`)!.subscriptions).toEqual([]);
    // The same client's allowed filter still goes through.
    s.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 2, topic: { topicIdType: 'normal', topicName: 'open/x' } });
    expect(await s.expect('SUBACK')).toMatchObject({ msgId: 2, returnCode: 0 });
  });

  if (protocolVersion === 5) {
    it('§6.6 MQTT 5: a QoS 1 publish the broker refuses (PUBACK reason 0x87) is PUBACK 0x03', async () => {
      const s = await gw.sensor();
      await connect(s, 'refused-pub-1');
      const topicId = await register(s, 'denied/q1');
      s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 5, payload: Buffer.from('no') });
      expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 5, returnCode: 0x03 });
    });

    it('§6.6 MQTT 5: a QoS 2 publish the broker refuses (PUBREC reason 0x87) is PUBACK 0x03, not PUBREC', async () => {
      const s = await gw.sensor();
      await connect(s, 'refused-pub-2');
      const topicId = await register(s, 'denied/q2');
      s.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 'normal', topicId, msgId: 6, payload: Buffer.from('no') });
      expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 6, returnCode: 0x03 });
    });
  } else {
    it('§6.6 MQTT 3.1.1: the broker acknowledges a publish it denies and drops it, so the sensor gets PUBACK 0x00 (documented limit)', async () => {
      const s = await gw.sensor();
      await connect(s, 'denied-pub-v4');
      const topicId = await register(s, 'denied/q1');
      s.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId, msgId: 5, payload: Buffer.from('dropped') });
      expect(await s.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId, msgId: 5, returnCode: 0 });
      await expect.poll(() => broker.log(), WAIT).toContain("Denied PUBLISH from mqttsn-gw-1 (d0, q1, r0");
    });
  }
});
