/**
 * The `mqtt-sn` command against the real gateway (test/client/cli.test.ts checks its frames against a
 * scripted fake): `mqtt-sn sub` subscribes through the gateway and prints what a plain MQTT client publishes.
 */
import { describe, expect, it } from 'vitest';
import { gatewaySuite, until } from '../support/harness.js';
import { runCli } from '../support/cli.js';



describe('19 mqtt-sn sub through the real gateway (Mosquitto)', () => {
  const t = gatewaySuite('mosquitto');

  it('§6.9 §6.5 sub -t with a wildcard -C 1 -v: the gateway REGISTERs the topic, the CLI prints "topic payload" and exits 0', async () => {
    const run = runCli(['sub', '-p', String(t.gw.port), '-i', 'cli-sub', '-t', 'cli/#', '-q', '1', '-C', '1', '-W', '60', '-v']);
    // The CLI is a process of its own: wait until its subscription is in place before publishing.
    await until(() => t.gw.gateway.core.client('cli-sub')?.subscriptions.some((s) => s.filter === 'cli/#') === true, 30_000,
      () => `the CLI's SUBSCRIBE: ${JSON.stringify(t.gw.gateway.core.client('cli-sub'))}`);
    await t.observer.publish('cli/kitchen', '21.5', 1);
    const { code, stdout, stderr } = await run;
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: 'cli/kitchen 21.5\n', stderr: '' });
    // It disconnected cleanly after its one message.
    await until(() => t.gw.gateway.core.client('cli-sub')?.state === 'disconnected');
  });
});
