/** Address and CIDR checks for environment files (strict dotted/colon forms). */
import { quote } from './errors';

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
    }, got ${quote(text)}`;
  }
  return undefined;
}

/** A parsed CIDR: its family, network address as a number, prefix length, and canonical text. */
export interface Cidr {
  readonly family: 'ipv4' | 'ipv6';
  readonly network: bigint;
  readonly prefix: number;
  /** As iptables-save and ip6tables-save print it: `10.0.1.0/24`, `fd00:10::/64`. */
  readonly text: string;
}

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((n, p) => (n << 8n) | BigInt(Number(p)), 0n);
}

function ipv6ToBigInt(text: string): bigint {
  let head = text;
  const groups: string[] = [];
  if (text.includes('.')) {
    const v4 = ipv4ToBigInt(text.slice(text.lastIndexOf(':') + 1));
    head = text.slice(0, text.lastIndexOf(':') + 1) + ((v4 >> 16n) & 0xffffn).toString(16) + ':' + (v4 & 0xffffn).toString(16);
  }
  const [left, right] = head.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined ? [] : right === '' ? [] : right.split(':');
  groups.push(...l, ...(right === undefined ? [] : Array(8 - l.length - r.length).fill('0')), ...r);
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 text of an IPv6 address: lowercase, longest run of two or more zero groups as `::`. */
function formatIpv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  // IPv4-mapped addresses end in dotted form, as inet_ntop (glibc and musl alike) and so iptables-save print them.
  if (best.start === 0 && best.length === 5 && groups[5] === 0xffff) return `::ffff:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

/**
 * Whether an IPv6 network is in the deprecated IPv4-compatible range (::/96 with a non-zero
 * seventh group): glibc's inet_ntop prints it dotted, musl's in hex, so no one text matches both.
 */
export function isIpv4Compatible(cidr: Cidr): boolean {
  return cidr.family === 'ipv6' && cidr.network >> 32n === 0n && (cidr.network >> 16n) !== 0n;
}

/** Parses a CIDR of either family; undefined when it is not one, or has host bits set. */
export function parseCidr(text: string): Cidr | undefined {
  const family = text.includes(':') ? 'ipv6' : 'ipv4';
  if (cidrProblem(text, family) !== undefined) return undefined;
  const [addr, len] = text.split('/');
  const bits = family === 'ipv4' ? 32 : 128;
  const prefix = Number(len);
  const value = family === 'ipv4' ? ipv4ToBigInt(addr) : ipv6ToBigInt(addr);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((value & hostMask) !== 0n) return undefined;
  const formatted = family === 'ipv4' ? [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.') : formatIpv6(value);
  return { family, network: value, prefix, text: `${formatted}/${prefix}` };
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const bits = a.family === 'ipv4' ? 32 : 128;
  const shorter = Math.min(a.prefix, b.prefix);
  return a.network >> BigInt(bits - shorter) === b.network >> BigInt(bits - shorter);
}
