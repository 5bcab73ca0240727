/** Address and CIDR checks for environment files (no dependency; strict dotted/colon forms). */

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.includes(':::')) return false;
  let head = text;
  let groupsFromV4 = 0;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    if (!isIpv4(text.slice(lastColon + 1))) return false;
    head = text.slice(0, lastColon + 1) + '0';
    groupsFromV4 = 1;
  }
  const halves = head.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => g.some((x) => !/^[0-9a-fA-F]{1,4}$/.test(x)))) return false;
  const count = groups.reduce((n, g) => n + g.length, 0) + groupsFromV4;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** `10.244.0.0/16` style CIDR of the given family; returns a reason when it is not one. */
export function cidrProblem(text: string, family: 'ipv4' | 'ipv6'): string | undefined {
  const [addr, len, ...rest] = text.split('/');
  const maxLen = family === 'ipv4' ? 32 : 128;
  const addrOk = family === 'ipv4' ? isIpv4(addr) : isIpv6(addr);
  if (rest.length > 0 || len === undefined || !addrOk || !/^\d{1,3}$/.test(len) || Number(len) > maxLen) {
    return `expected an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} CIDR such as ${
      family === 'ipv4' ? '10.244.0.0/16' : 'fd00:10:244::/56'
    }, got ${JSON.stringify(text)}`;
  }
  return undefined;
}
