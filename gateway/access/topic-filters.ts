/** Topic-filter comparisons the access rules need beyond plain matching (MQTT 3.1.1 §4.7). */

/**
 * Does `allowed` cover every topic `requested` can match? `sensors/#` covers `sensors/+/temp`;
 * `sensors/+/temp` does not cover `sensors/#`. Used to check a SUBSCRIBE against the filters a
 * client may subscribe to, the way Mosquitto checks its ACL on SUBSCRIBE.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  // A leading wildcard does not reach $-topics (§4.7.2), so it cannot grant them either.
  if (requested.startsWith('$') && (allowed.startsWith('+') || allowed.startsWith('#'))) return false;
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= r.length) return false;
    if (r[i] === '#') return false; // only '#' covers '#'
    if (a[i] === '+') continue; // covers any one level, '+' included
    if (a[i] !== r[i]) return false; // a literal covers only itself (not '+')
  }
  return a.length === r.length;
}
