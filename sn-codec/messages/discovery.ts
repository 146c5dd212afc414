/** Gateway discovery (§5.4.1 ADVERTISE, §5.4.2 SEARCHGW, §5.4.3 GWINFO). */
import type { MessageCodec } from '../codec.js';
import { MsgType } from '../constants.js';
import { expectBodyAtLeast, expectBodyLength, readUint16 } from '../read.js';
import type { AdvertiseMessage, GwInfoMessage, SearchGwMessage } from '../types.js';
import { allocFrame, checkBytes, checkUint16, checkUint8, writeUint16 } from '../write.js';

/** §5.4.1: GwId(1) Duration(2). */
export const ADVERTISE: MessageCodec<AdvertiseMessage> = {
  code: MsgType.ADVERTISE,
  decode(buf, p, end) {
    expectBodyLength('ADVERTISE', end - p, 3);
    return { type: 'ADVERTISE', gwId: buf[p], duration: readUint16(buf, p + 1) };
  },
  encode(m) {
    const gwId = checkUint8('ADVERTISE', 'gwId', m.gwId);
    const duration = checkUint16('ADVERTISE', 'duration', m.duration);
    const out = allocFrame('ADVERTISE', MsgType.ADVERTISE, 3);
    out[2] = gwId;
    writeUint16(out, 3, duration);
    return out;
  },
};

/** §5.4.2: Radius(1). */
export const SEARCHGW: MessageCodec<SearchGwMessage> = {
  code: MsgType.SEARCHGW,
  decode(buf, p, end) {
    expectBodyLength('SEARCHGW', end - p, 1);
    return { type: 'SEARCHGW', radius: buf[p] };
  },
  encode(m) {
    const radius = checkUint8('SEARCHGW', 'radius', m.radius);
    const out = allocFrame('SEARCHGW', MsgType.SEARCHGW, 1);
    out[2] = radius;
    return out;
  },
};

/** §5.4.3: GwId(1) [GwAdd(n)]; GwAdd only when a client answers SEARCHGW, so no bytes means no GwAdd. */
export const GWINFO: MessageCodec<GwInfoMessage> = {
  code: MsgType.GWINFO,
  decode(buf, p, end) {
    expectBodyAtLeast('GWINFO', end - p, 1);
    if (end - p === 1) return { type: 'GWINFO', gwId: buf[p] };
    return { type: 'GWINFO', gwId: buf[p], gwAdd: buf.subarray(p + 1, end) };
  },
  encode(m) {
    const gwId = checkUint8('GWINFO', 'gwId', m.gwId);
    const gwAdd = m.gwAdd === undefined ? undefined : checkBytes('GWINFO', 'gwAdd', m.gwAdd);
    const bodyLength = 1 + (gwAdd === undefined ? 0 : gwAdd.length);
    const out = allocFrame('GWINFO', MsgType.GWINFO, bodyLength);
    const p = out.length - bodyLength;
    out[p] = gwId;
    if (gwAdd !== undefined) out.set(gwAdd, p + 1);
    return out;
  },
};
