/**
 * Glob patterns for ClientIds and radio addresses: `*` any run of characters (`/` and `:` included,
 * since addresses such as `serial:/dev/ttyACM0` are one name, not a path), `?` one character.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}
