import * as path from 'path';
import { Testing } from 'cdk8s';
import { FlannelChart } from '../../src/charts/flannel-chart';
import { toEnvironment } from '../../src/model';
import { synthFiles } from '../../src/synth';
import { validateObjects } from '../../src/validation/kubernetes-schema';
import { findObject, K8sObject, REPO } from '../support/dist';
import { runScript, SEED_WORKLOADS, shells } from '../jobs/kubectl-standin';

const SEED = {
  name: 'seed-dev',
  flannel: { podNetwork: '10.244.0.0/16' },
  clouds: [{ name: 'cloud-a', nicMtu: 1400 }, { name: 'cloud-b', nicMtu: 1400 }],
  links: [{ between: ['cloud-a', 'cloud-b'], pathMtu: 1380 }],
  rollout: { namespaces: ['ingress-nginx', 'default'] },
};

function synth(doc: Record<string, unknown> = SEED): K8sObject[] {
  return Testing.synth(new FlannelChart(Testing.app({ outdir: '/nonexistent' }), 'test', { environment: toEnvironment(doc) }));
}
const jobName = (objects: K8sObject[]) => findObject(objects, 'Job').metadata.name as string;
const withPathMtu = (pathMtu: number) => ({ ...SEED, links: [{ between: ['cloud-a', 'cloud-b'], pathMtu }] });

describe('RolloutRestart: GitOps', () => {
  test('the Job name is flannel-mtu-rollout-<8 hex>, the same for an unchanged plan', () => {
    const name = jobName(synth());
    expect(name).toMatch(/^flannel-mtu-rollout-[0-9a-f]{8}$/);
    expect(jobName(synth())).toBe(name);
    // Changes that move no MTU keep the Job: re-syncs never restart workloads again.
    expect(jobName(synth({ ...SEED, mssClamp: { enabled: false } }))).toBe(name);
    expect(jobName(synth({ ...SEED, clouds: [{ name: 'cloud-a', nicMtu: 1400, nodes: ['192.0.2.1'] }, { name: 'cloud-b', nicMtu: 1400 }] }))).toBe(name);
  });

  test('a changed MTU gives a new Job (link pathMtu 1380 -> 1370)', () => {
    expect(jobName(synth(withPathMtu(1370)))).not.toBe(jobName(synth(withPathMtu(1380))));
    // Same pod MTU through another backend still changes Backend.MTU and the overlay: new Job.
    expect(jobName(synth({ ...SEED, flannel: { podNetwork: '10.244.0.0/16', backend: 'wireguard' } }))).not.toBe(jobName(synth()));
  });

  test('a changed Job template gives a new Job too (a Job template is immutable: same name would fail to sync)', () => {
    const base = jobName(synth());
    expect(jobName(synth({ ...SEED, rollout: { namespaces: ['ingress-nginx', 'default', 'shop'] } }))).not.toBe(base);
    expect(jobName(synth({ ...SEED, images: { kubectl: 'registry.k8s.io/kubectl:v1.33.5' } }))).not.toBe(base);
  });

  test('no ttlSecondsAfterFinished (a GitOps tool would recreate the deleted Job), no retries', () => {
    const job = findObject(synth(), 'Job');
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.metadata.annotations['flannel-mtu.io/plan']).toBe('restarts pods for pod MTU 1330, MSS 1290');
  });

  test('Argo CD sync waves: flannel objects in wave 0, the Job and its RBAC in wave 1, objects in that order', () => {
    const objects = synth();
    const rollout = objects.filter((o) => o.metadata.name.startsWith('flannel-mtu-rollout'));
    const flannel = objects.filter((o) => !o.metadata.name.startsWith('flannel-mtu-rollout'));
    expect(flannel.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/kube-flannel', 'ClusterRole/flannel', 'ClusterRoleBinding/flannel', 'ServiceAccount/flannel', 'ConfigMap/kube-flannel-cfg', 'DaemonSet/kube-flannel-ds',
    ]);
    for (const o of flannel) expect([o.kind, o.metadata.annotations?.['argocd.argoproj.io/sync-wave']]).toEqual([o.kind, '0']);
    for (const o of rollout) expect([o.kind, o.metadata.annotations?.['argocd.argoproj.io/sync-wave']]).toEqual([o.kind, '1']);
    expect(objects.indexOf(findObject(objects, 'Job'))).toBe(objects.length - 1);
    expect(objects.indexOf(findObject(objects, 'DaemonSet'))).toBeLessThan(objects.indexOf(rollout[0]));
  });

  test('without a rollout section (or with enabled: false) nothing is added and flannel objects carry no wave', () => {
    const { rollout: _omit, ...noRollout } = SEED;
    for (const doc of [noRollout, { ...SEED, rollout: { enabled: false } }]) {
      const objects = synth(doc);
      expect(objects.filter((o) => o.metadata.name.startsWith('flannel-mtu-rollout'))).toEqual([]);
      expect(objects.every((o) => o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] === undefined)).toBe(true);
    }
  });
});

describe('RolloutRestart: pod', () => {
  const spec = findObject(synth(), 'Job').spec.template.spec;

  test('official kubectl image pinned to a patch release, static busybox copied in by an init container', () => {
    expect(spec.containers.map((c: K8sObject) => [c.name, c.image])).toEqual([['rollout-restart', 'registry.k8s.io/kubectl:v1.33.4']]);
    expect(spec.initContainers.map((c: K8sObject) => [c.name, c.image, c.command])).toEqual([
      ['install-busybox', 'docker.io/library/busybox:1.37.0-musl', ['/bin/busybox', 'sh', '-c', 'cp /bin/busybox /tools/busybox && exec /tools/busybox --install -s /tools']],
    ]);
    expect(spec.containers[0].command).toEqual(['/tools/sh', '-c']);
    expect(spec.containers[0].volumeMounts).toEqual([{ name: 'tools', mountPath: '/tools', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }]);
    const custom = findObject(synth({ ...SEED, images: { kubectl: 'registry.k8s.io/kubectl:v1.32.8', busybox: 'docker.io/library/busybox:1.36.1-musl' } }), 'Job').spec.template.spec;
    expect([custom.containers[0].image, custom.initContainers[0].image]).toEqual(['registry.k8s.io/kubectl:v1.32.8', 'docker.io/library/busybox:1.36.1-musl']);
  });

  test('restricted pod security: non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, resources', () => {
    expect(spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect([c.name, c.securityContext]).toEqual([c.name, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } }]);
      expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'memory']);
    }
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.hostNetwork).toBeUndefined();
  });

  test('only the Job pod mounts a token: the ServiceAccount does not', () => {
    expect([spec.serviceAccountName, spec.automountServiceAccountToken]).toEqual(['flannel-mtu-rollout', true]);
    const sa = findObject(synth(), 'ServiceAccount', 'flannel-mtu-rollout');
    expect([sa.metadata.namespace, sa.automountServiceAccountToken]).toEqual(['kube-flannel', false]);
  });

  test('every object passes the Kubernetes schema', () => {
    expect(validateObjects(synth())).toEqual([]);
  });

  test('snapshot of the rollout objects', () => {
    expect(synth().filter((o) => o.metadata.name.startsWith('flannel-mtu-rollout'))).toMatchSnapshot();
  });
});

/**
 * The API requests each kubectl subcommand the script uses makes (kubectl v1.33,
 * staging/src/k8s.io/kubectl/pkg/cmd):
 * - `get T1,T2 -n NS`: a list per type (the resource builder; -o jsonpath needs no other call);
 * - `rollout restart T/NAME`: get (builder `.Latest()`), then a strategic-merge patch of
 *   `spec.template.metadata.annotations` (`kubectl.kubernetes.io/restartedAt`);
 * - `rollout status T/NAME`: get (builder), then list and watch with fieldSelector
 *   `metadata.name=NAME` (watchtools.UntilWithSync). The status viewers read only the workload's
 *   own `.status` (updatedReplicas, observedGeneration, ...): no ReplicaSets, ControllerRevisions
 *   or Pods. The apiserver turns that field selector into the request's name, so RBAC
 *   resourceNames can restrict the list and watch.
 * Discovery (/api, /apis) is allowed to every authenticated user by system:discovery.
 */
type Permission = { namespace: string; group: string; resource: string; verb: string; name: string };
const RESOURCES: Record<string, { group: string; resource: string }> = {
  'deployment.apps': { group: 'apps', resource: 'deployments' },
  'deployments.apps': { group: 'apps', resource: 'deployments' },
  'statefulset.apps': { group: 'apps', resource: 'statefulsets' },
  'statefulsets.apps': { group: 'apps', resource: 'statefulsets' },
  'daemonset.apps': { group: 'apps', resource: 'daemonsets' },
  'daemonsets.apps': { group: 'apps', resource: 'daemonsets' },
};
const ANY = '*';

function permissionsOf(call: string[]): Permission[] {
  const namespace = call[call.indexOf('-n') + 1];
  const of = (type: string, name: string, verbs: string[]) => {
    const r = RESOURCES[type];
    if (!r) throw new Error(`unmapped resource type ${type} in kubectl ${call.join(' ')}`);
    return verbs.map((verb) => ({ namespace, ...r, verb, name }));
  };
  const target = () => {
    const [type, name] = call[2].split('/');
    return { type, name };
  };
  if (call[0] === 'get') return call[1].split(',').flatMap((type) => of(type, ANY, ['list']));
  if (call[0] === 'rollout' && call[1] === 'restart') return of(target().type, target().name, ['get', 'patch']);
  if (call[0] === 'rollout' && call[1] === 'status') return of(target().type, target().name, ['get', 'list', 'watch']);
  throw new Error(`unmapped kubectl call: ${call.join(' ')}`);
}

/** What the chart's Roles grant the rollout ServiceAccount, one entry per (namespace, resource, verb, name). */
function granted(objects: K8sObject[]): Permission[] {
  const bound = objects.filter((o) => o.kind === 'RoleBinding' && o.subjects.some((s: K8sObject) => s.kind === 'ServiceAccount' && s.name === 'flannel-mtu-rollout' && s.namespace === 'kube-flannel'));
  return bound.flatMap((b) => {
    expect(b.roleRef.kind).toBe('Role');
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === b.roleRef.name && o.metadata.namespace === b.metadata.namespace);
    return role.rules.flatMap((rule: K8sObject) =>
      rule.apiGroups.flatMap((group: string) => rule.resources.flatMap((resource: string) => rule.verbs.flatMap((verb: string) =>
        (rule.resourceNames ?? [ANY]).map((name: string) => ({ namespace: b.metadata.namespace, group, resource, verb, name }))))));
  });
}

const key = (p: Permission, name = p.name) => `${p.namespace} ${p.group}/${p.resource} ${p.verb} ${name}`;

describe.each([
  // [environment file, the flannel DaemonSets it generates, in order]
  ['seed-dev', ['kube-flannel-ds']],
  ['jumbo-per-path', ['kube-flannel-ds-aws', 'kube-flannel-ds-onprem']],
])('RolloutRestart: least-privilege RBAC, derived from what the shipped script calls (%s)', (file, daemonSets) => {
  const objects = synthFiles([path.join(REPO, `test/fixtures/environments/${file}.yaml`)])[0].objects as K8sObject[];
  const container = findObject(objects, 'Job').spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  const run = runScript({ shell: shells()[0].argv, script: container.args[0], env, workloads: SEED_WORKLOADS });
  const needed = run.calls.flatMap(permissionsOf);
  const grants = granted(objects);

  test('the run covers every kind in every namespace', () => {
    expect(run.status).toBe(0);
    expect(new Set(needed.map((p) => p.namespace))).toEqual(new Set(['kube-flannel', 'ingress-nginx', 'default']));
  });

  test('every request the script makes is granted', () => {
    const allowed = new Set(grants.map((g) => key(g)));
    const denied = needed.filter((p) => !allowed.has(key(p)) && !allowed.has(key(p, ANY)));
    expect(denied).toEqual([]);
  });

  test('nothing more is granted: every (namespace, resource, verb) is used, and names are pinned where known in advance', () => {
    const used = new Set(needed.map((p) => key(p, ANY)));
    expect(grants.filter((g) => !used.has(key(g, ANY)))).toEqual([]);
    // flannel's DaemonSets are known: their grants name them, every one the script waits for and
    // no other. Workloads are discovered at run time.
    const flannelGrants = grants.filter((g) => g.namespace === 'kube-flannel');
    expect(flannelGrants.map((g) => key(g)).sort()).toEqual(
      [...new Set(needed.filter((p) => p.namespace === 'kube-flannel').map((p) => key(p)))].sort(),
    );
    expect([...new Set(flannelGrants.map((g) => g.name))].sort()).toEqual([...daemonSets].sort());
    expect(flannelGrants).toHaveLength(daemonSets.length * 3);
    // ... and the script waits for them in the chart's order.
    expect(run.calls.filter((c) => c.includes('kube-flannel')).map((c) => c[2])).toEqual(daemonSets.map((d) => `daemonset.apps/${d}`));
  });

  test('exactly the expected rules, and no cluster-wide grant', () => {
    expect(objects.filter((o) => o.kind === 'Role').map((o) => [o.metadata.namespace, o.metadata.name, o.rules])).toEqual([
      ['kube-flannel', 'flannel-mtu-rollout-wait-flannel', [{ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: daemonSets, verbs: ['get', 'list', 'watch'] }]],
      ['ingress-nginx', 'flannel-mtu-rollout-restart', [{ apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'statefulsets'], verbs: ['get', 'list', 'patch', 'watch'] }]],
      ['default', 'flannel-mtu-rollout-restart', [{ apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'statefulsets'], verbs: ['get', 'list', 'patch', 'watch'] }]],
    ]);
    expect(objects.filter((o) => /^Cluster/.test(o.kind)).map((o) => o.metadata.name)).toEqual(['flannel', 'flannel']);
  });

  test('the derivation can fail: an extra grant is reported', () => {
    const extra: Permission = { namespace: 'default', group: '', resource: 'pods', verb: 'delete', name: ANY };
    const used = new Set(needed.map((p) => key(p, ANY)));
    expect([...grants, extra].filter((g) => !used.has(key(g, ANY)))).toEqual([extra]);
  });
});
