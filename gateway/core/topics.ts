/** MQTT topic name and filter rules (MQTT 3.1.1 §4.7), as the gateway applies them to MQTT-SN names. */

export function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/** A concrete topic name a client may publish to: non-empty, no wildcards, no NUL. */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !hasWildcard(topic) && !topic.includes('\u0000');
}

/** A subscription filter: '#' only last and alone in its level, '+' alone in its level. */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

/** Does `topic` match `filter`? Topics starting with '$' are not matched by a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
