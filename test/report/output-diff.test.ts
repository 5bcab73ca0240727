import { diffOutputs, diffValues, OutputSide } from '../../src/report/output-diff';

/** A side with one file holding `objects` as JSON (the bytes differ exactly when the objects or `extra` do). */
const side = (objects: unknown[], extra = ''): OutputSide => ({ files: { 'env.k8s.yaml': `${extra}${JSON.stringify(objects)}` }, objects });
const cm = (data: Record<string, string>, annotations: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'ns', annotations }, data });
const ds = (env: Array<{ name: string; value: string }>, strategy = 'RollingUpdate') => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'ds', namespace: 'ns' },
  spec: { updateStrategy: { type: strategy }, template: { spec: { initContainers: [{ name: 'apply-node-mtu', env }] } } },
});

describe('diffValues', () => {
  test('list items with a name are matched by name, not position; a reorder alone is reported as such', () => {
    const a = [{ name: 'x', v: 1 }, { name: 'y', v: 2 }];
    expect(diffValues(a, [{ name: 'y', v: 2 }, { name: 'x', v: 3 }], 'env')).toEqual([{ path: 'env[x].v', old: '1', new: '3' }]);
    expect(diffValues(a, [a[1], a[0]], 'env')).toEqual([{ path: 'env (order)', old: 'x, y', new: 'y, x' }]);
    expect(diffValues(a, [a[0]], 'env')).toEqual([{ path: 'env[y]', old: '{"name":"y","v":2}', new: null }]);
  });

  test('JSON inside a string is compared key by key; keys with dots are quoted', () => {
    expect(diffValues({ 'net-conf.json': '{"Backend":{"MTU":1380}}' }, { 'net-conf.json': '{"Backend":{"MTU":1360}}' }, 'data'))
      .toEqual([{ path: 'data["net-conf.json"] (JSON).Backend.MTU', old: '1380', new: '1360' }]);
  });

  test('a long or multi-line string shows its size and where it first differs', () => {
    const script = (n: number) => `#!/bin/sh\nset -eu\nmss=${n}\nexit 0`;
    expect(diffValues(script(1290), script(1270), 'args')).toEqual([{ path: 'args', old: '4 lines, line 3: "mss=1290"', new: '4 lines, line 3: "mss=1270"' }]);
  });
});

describe('diffOutputs', () => {
  test('a DaemonSet pod template change rolls it; DEVICE_MTUS becomes the devices nodes reset; the rest of the object is "other"', () => {
    const d = diffOutputs(side([ds([{ name: 'DEVICE_MTUS', value: 'cni0=1330 flannel.1=1330' }])]), side([ds([{ name: 'DEVICE_MTUS', value: 'cni0=1310 flannel.1=1330' }], 'OnDelete')]));
    expect(d.changed).toBe(true);
    expect(d.rollingDaemonSets).toEqual(['ds']);
    expect(d.groups.map((g) => [g.key, g.items.map((i) => i.text)])).toEqual([
      ['daemonset-rolls', ['`DaemonSet ns/ds` rolls: every pod is replaced, node by node']],
      ['node-devices', ['on the nodes of `ds`: `cni0` 1330 -> 1310']],
      ['other', ['`DaemonSet ns/ds`']],
    ]);
    expect(d.groups[2].items[0].fields).toEqual([{ path: 'spec.updateStrategy.type', old: '"RollingUpdate"', new: '"OnDelete"' }]);
  });

  test('RBAC: a new verb widens, a dropped resource narrows, per resource', () => {
    const role = (rules: unknown[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'ns' }, rules });
    const d = diffOutputs(
      side([role([{ apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['get'] }])]),
      side([role([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }])]),
    );
    expect(d.groups[0].items[0].text).toBe('`Role ns/r` changed: widens in namespace ns: +patch on deployments.apps; narrows in namespace ns: -get on statefulsets.apps');
  });

  test('a renamed Job runs once and replaces the old one; namespaces come from the caller', () => {
    const job = (name: string) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'kube-flannel' }, spec: {} });
    const d = diffOutputs(side([job('flannel-mtu-rollout-aaaa1111')]), side([job('flannel-mtu-rollout-bbbb2222')]), { rolloutNamespaces: ['a', 'b'] });
    expect(d.groups.map((g) => g.items.map((i) => i.text))).toEqual([
      ['`Job kube-flannel/flannel-mtu-rollout-bbbb2222` runs: restarts the workloads of 2 namespaces, one at a time (`a`, `b`); it replaces `flannel-mtu-rollout-aaaa1111`'],
    ]);
  });

  test('bytes that differ where no object does: comments are listed; anything else is still listed, as formatting', () => {
    const objects = [cm({ a: '1' })];
    const comments = diffOutputs(side(objects, '# from a.yaml\n'), side(objects, '# from b.yaml\n'));
    expect(comments.groups[0].items[0]).toMatchObject({ text: 'file `env.k8s.yaml`: its comment lines (the header with the plan summary)', fields: [{ path: 'comment lines', old: '["# from a.yaml"]', new: '["# from b.yaml"]' }] });
    const spaces = diffOutputs(side(objects), side(objects, ' '));
    expect(spaces).toMatchObject({ changed: true, objects: [] });
    expect(spaces.groups[0].items[0].text).toBe('the bytes of `env.k8s.yaml` differ, though no object or comment does (formatting)');
    expect(diffOutputs(side(objects), side(objects))).toEqual({ changed: false, objects: [], groups: [], rollingDaemonSets: [] });
  });
});
