// The daemon (gateway/main.ts) with zigbee-herdsman's adapter replaced by the test double, so a test can
// drive a Zigbee radio in the daemon's own process. Run like bin/mqtt-sn-gateway.js, with the same arguments.
import { register } from 'tsx/esm/api';

register();
await import('./fake-zigbee-install.ts');
await import('../../gateway/main.ts');
