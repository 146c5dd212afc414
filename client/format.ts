/** The renderings live in sn-codec/format.ts, shared with the gateway's -v output. */
export { formatMessage, hex } from '../sn-codec/format.js';
