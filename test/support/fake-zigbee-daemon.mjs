// The daemon as users run it (bin/mqtt-sn-gateway.js, the built gateway) with zigbee-herdsman's adapter replaced
// by the test double, so a test can drive a Zigbee radio in the daemon's own process. Same arguments as the bin.
// The double is TypeScript (tsx, a devDependency, loads it); it patches herdsman in Node's module cache, which
// the built gateway's require('zigbee-herdsman') then finds.
import { register } from 'tsx/esm/api';

register();
await import('./fake-zigbee-install.ts');
await import('../../bin/mqtt-sn-gateway.js');
