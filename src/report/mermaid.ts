import { MtuPlan } from '../mtu/plan';

/** How the binding cloud or link is drawn: red and thick. */
export const BINDING_STYLE = 'stroke:#d00,stroke-width:3px';

/**
 * The plan's topology as a Mermaid `flowchart LR`, which GitHub renders in Markdown: one node per
 * cloud (name and NIC MTU, and the fabric MTU where it is smaller), one edge per link labelled with
 * its path MTU (and the IPv6 one when dual-stack), the binding constraint in red. In mtuMode
 * per-path each cloud also shows its own pod MTU and each link its overlay MTU (the route MTU
 * between the two clouds' pods); the red one is then the smallest path.
 *
 * Node ids are `c<index>_<name>` with every character outside [A-Za-z0-9] replaced by `_`, so they
 * are unique, never a Mermaid keyword (`end`), and readable; labels are quoted with `"`, `#`, `<`,
 * `>` and `&` written as Mermaid entity codes.
 */
export function renderMermaid(plan: MtuPlan): string {
  const ids = new Map(plan.clouds.map((c, i) => [c.name, `c${i}_${c.name.replace(/[^A-Za-z0-9]/g, '_')}`]));
  const lines = ['flowchart LR'];
  for (const cloud of plan.clouds) {
    const inside = plan.paths.find((p) => p.kind === 'cloud' && p.name === cloud.name);
    const fabric = inside !== undefined && inside.pathMtu < cloud.nicMtu ? `, fabric ${inside.pathMtu}` : '';
    const pod = plan.mtuMode === 'per-path' ? `<br/>pod MTU ${cloud.podMtu}` : '';
    lines.push(`    ${ids.get(cloud.name)}["${escape(cloud.name)}<br/>NIC ${cloud.nicMtu}${fabric}${pod}"]`);
  }
  const links = plan.paths.filter((p) => p.kind === 'link');
  links.forEach((link) => {
    const overlay = plan.mtuMode === 'per-path' ? `, overlay ${plan.links.find((l) => l.name === link.name)?.overlayMtu}` : '';
    const mtu = `${link.pathMtuV6 === null ? `${link.pathMtu}` : `${link.pathMtu} (IPv6 ${link.pathMtuV6})`}${overlay}`;
    lines.push(`    ${ids.get(link.from)} ---|"${escape(link.name)}: ${mtu}"| ${ids.get(link.to)}`);
  });
  if (plan.binding.kind === 'cloud') {
    lines.push(`    style ${ids.get(plan.binding.name)} ${BINDING_STYLE}`);
  } else {
    lines.push(`    linkStyle ${links.findIndex((l) => l.name === plan.binding.name)} ${BINDING_STYLE}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Mermaid entity codes (`#34;`) for the characters that would end a quoted label or be read as HTML. */
function escape(text: string): string {
  return text.replace(/[#"<>&]/g, (ch) => `#${ch.charCodeAt(0)};`);
}
