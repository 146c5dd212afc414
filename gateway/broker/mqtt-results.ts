/** How mqtt.js answers are read, shared by the aggregating and the transparent upstream. */
import { ACCEPTED, type PublishResult } from './upstream.js';

/** mqtt.js reports an MQTT 5 PUBACK/PUBCOMP reason code >= 0x80 as an error whose `code` is that number. */
export function publishResult(err: Error | undefined | null): PublishResult {
  if (!err) return ACCEPTED;
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'number' && code >= 0x80 ? { error: err, refused: code } : { error: err };
}
