/**
 * SEARCHGW (§6.1): answered with GWINFO broadcast on the radio it came from, so other searchers can
 * cancel theirs, and also unicast to the searcher, which often listens on an ephemeral port the
 * broadcast never reaches (as EMQX does). Through a forwarder: one GWINFO, wrapped for that node.
 */
import type { SearchGwMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';

export function handleSearchgw(core: GatewayCore, peer: Peer, _message: SearchGwMessage): void {
  const gwinfo = { type: 'GWINFO' as const, gwId: core.config.id };
  if (peer.nodeId) {
    core.sendToPeer(peer, gwinfo);
    return;
  }
  core.broadcastOn(peer.radio, gwinfo);
  core.sendToPeer(peer, gwinfo);
}
