/**
 * Installs FakeZigbeeAdapter as zigbee-herdsman's adapter for the whole process (the daemon runs in its own
 * process, where vi.spyOn cannot reach). Each permitJoin the gateway asks for is written to stderr, where the
 * test reads the daemon's log.
 */
import { Adapter, FakeZigbeeAdapter } from './fake-zigbee-adapter.js';

Adapter.create = async (network, transport, backupPath, adapterOptions) => {
  const adapter = new FakeZigbeeAdapter(network, transport, backupPath, adapterOptions);
  const permitJoin = adapter.permitJoin.bind(adapter);
  adapter.permitJoin = async (seconds: number) => {
    process.stderr.write(`fake zigbee adapter: permitJoin ${seconds}\n`);
    return permitJoin(seconds);
  };
  return adapter;
};
