/** SEARCHGW (§6.1): answered with GWINFO, broadcast on the radio it came from (to the forwarder, if relayed). */
import type { SearchGwMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';

export function handleSearchgw(core: GatewayCore, peer: Peer, _message: SearchGwMessage): void {
  const gwinfo = { type: 'GWINFO' as const, gwId: core.config.id };
  if (peer.nodeId) {
    core.sendToPeer(peer, gwinfo);
    return;
  }
  core.broadcastOn(peer.radio, gwinfo);
}
