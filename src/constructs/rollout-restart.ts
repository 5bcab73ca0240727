import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../../imports/k8s';
import { DEFAULT_ROLLOUT_IMAGES, DEFAULT_ROLLOUT_TIMEOUT_SECONDS } from '../model/environment';
import { jobScript } from '../jobs/scripts';
import { MtuPlan } from '../mtu/plan';
import { ANNOTATION_PREFIX, FLANNEL_DAEMON_SET, FLANNEL_NAMESPACE } from './names';

/** Argo CD orders a sync by this annotation: lower waves are applied, and healthy, first. */
export const ARGOCD_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
/** The wave of the flannel objects when a rollout Job follows them. */
export const FLANNEL_SYNC_WAVE = 0;
/** The wave of the rollout Job and its RBAC: after flannel's DaemonSet is healthy (rolled out). */
export const ROLLOUT_SYNC_WAVE = 1;

/** Prefix of the Job's name; the rest is a hash (see `RolloutRestart.jobName`). */
export const ROLLOUT_JOB_PREFIX = 'flannel-mtu-rollout';
/** The ServiceAccount of the Job, in kube-flannel. */
export const ROLLOUT_SERVICE_ACCOUNT = 'flannel-mtu-rollout';
/** Role (and RoleBinding) in kube-flannel: watch flannel's DaemonSets roll out. */
export const ROLLOUT_WAIT_ROLE = 'flannel-mtu-rollout-wait-flannel';
/** Role (and RoleBinding) in every configured namespace: list, restart and watch workloads. */
export const ROLLOUT_RESTART_ROLE = 'flannel-mtu-rollout-restart';

/** Non-root user and group of the Job's containers (the distroless "nonroot" uid). */
const RUN_AS = 65532;
const TOOLS_DIR = '/tools';
const TMP_DIR = '/tmp';
/**
 * PATH of the main container: busybox applets first, then where kubectl images keep kubectl
 * (`/bin/kubectl` in registry.k8s.io/kubectl; the script fails clearly when it is not found).
 */
const MAIN_PATH = `${TOOLS_DIR}:/bin:/usr/local/bin:/usr/bin`;
/** Copies the static busybox into the shared emptyDir and links its applets (`sh` among them) there. */
const INSTALL_BUSYBOX = `cp /bin/busybox ${TOOLS_DIR}/busybox && exec ${TOOLS_DIR}/busybox --install -s ${TOOLS_DIR}`;

const LABELS = { 'app.kubernetes.io/name': 'flannel-mtu-rollout', 'app.kubernetes.io/part-of': 'flannel-mtu' };
const APPS_WORKLOADS = ['daemonsets', 'deployments', 'statefulsets'];

export interface RolloutRestartProps {
  /** The MTU plan; the Job's name carries a hash of its MTU numbers, so a new MTU gives a new Job. */
  readonly plan: MtuPlan;
  /**
   * The flannel DaemonSets (in kube-flannel) the Job waits for, one after the other, before it
   * restarts anything: `FlannelNetwork.daemonSetNames`. The Role that lets the Job watch them
   * names exactly these.
   * @default - ['kube-flannel-ds'], upstream's single DaemonSet; required when the plan is per-path
   */
  readonly flannelDaemonSets?: readonly string[];
  /**
   * Namespaces whose Deployments, StatefulSets and DaemonSets are restarted, one namespace at a
   * time, in this order. Each gets a Role and RoleBinding; there is no all-namespaces mode, which
   * would need a ClusterRole able to patch every pod template in the cluster.
   */
  readonly namespaces: readonly string[];
  /**
   * Label selector restricting the restarted workloads (`key`, `!key`, `key=value`, `key!=value`,
   * comma-separated; validated by `selectorProblem` and again by the script).
   * @default - every Deployment, StatefulSet and DaemonSet in the namespaces
   */
  readonly selector?: string;
  /**
   * How long the Job waits for flannel's DaemonSet, and then for each restarted workload, to roll out.
   * @default 600
   */
  readonly timeoutSeconds?: number;
  /**
   * The official kubectl image (distroless: kubectl only, no shell). Pin it to the cluster's minor.
   * @default 'registry.k8s.io/kubectl:v1.33.4'
   */
  readonly kubectlImage?: string;
  /**
   * A static busybox image; its `/bin/busybox` is copied into the pod to run the script.
   * @default 'docker.io/library/busybox:1.37.0-musl'
   */
  readonly busyboxImage?: string;
}

/**
 * A Job that makes a changed MTU reach every overlay pod: it waits until flannel's DaemonSet has
 * rolled out the new config, then restarts the Deployments, StatefulSets and DaemonSets of the
 * configured namespaces one namespace at a time, waiting for each to be rolled out before the
 * next, and exits non-zero if any failed. hostNetwork workloads (whose pods are not on the
 * overlay) and flannel itself are skipped. A pod's MTU is fixed when its sandbox is created, so
 * without this only pods created after the change get the new MTU.
 *
 * Images: registry.k8s.io/kubectl has no shell, so an init container copies a static busybox
 * (musl, `CONFIG_STATIC=y`) into an emptyDir and the kubectl container runs the constant script
 * with that busybox `sh`. Namespaces, selector and timeout arrive as environment variables and are
 * validated by the script before kubectl sees them.
 *
 * GitOps:
 * - The Job is named `flannel-mtu-rollout-<8 hex>`, a hash of the plan's MTU numbers and of the
 *   Job's own pod template. An unchanged environment gives the same name, so re-syncs find the
 *   completed Job and restart nothing; a new MTU gives a new Job (the old one is pruned). The pod
 *   template is in the hash too because a Job's template is immutable: changing it under the same
 *   name would fail every sync with "field is immutable".
 * - No `ttlSecondsAfterFinished`: when the TTL controller deleted the finished Job, Argo CD
 *   (self-heal) or Flux would see it missing from the cluster and create it again, restarting
 *   every workload once per TTL. The completed Job stays until the plan changes and it is pruned.
 *   To run it again on purpose, delete it and let the GitOps tool recreate it.
 * - `argocd.argoproj.io/sync-wave: "1"` on the Job and its RBAC, `"0"` on the flannel objects:
 *   Argo CD applies wave 1 only once flannel's DaemonSet is healthy, i.e. rolled out.
 * - Flux has no per-object ordering (`kustomize.toolkit.fluxcd.io/*` annotations control force,
 *   prune and SSA behaviour, not order; `dependsOn` orders whole Kustomizations). Within one
 *   Kustomization, kustomize-controller applies objects one by one in a fixed kind order (fluxcd/pkg
 *   ssa/sort.go: DaemonSet and Job are unlisted there and fall back to API group order, so
 *   apps/DaemonSet before batch/Job), and the Job's first step waits for the DaemonSet's new
 *   generation to roll out. So one Kustomization for `dist/<env>/` is correct; set
 *   `wait: true` and a `timeout` above the Job's run time to see its result in the status.
 * - The namespaces must exist: their Roles are applied into them (the Job does not create them).
 */
export class RolloutRestart extends Construct {
  /** `flannel-mtu-rollout-<hash>`: stable for an unchanged environment, new for a new MTU. */
  public readonly jobName: string;
  /** The 8 hex digits of `jobName`. */
  public readonly hash: string;
  /** The MTU numbers the hash covers, as hashed. */
  public readonly mtuKey: Readonly<Record<string, unknown>>;
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: RolloutRestartProps) {
    super(scope, id);
    const { plan } = props;
    if (props.namespaces.length === 0) throw new Error('RolloutRestart needs at least one namespace');
    const namespaces = [...props.namespaces];
    const daemonSets = flannelDaemonSets(this, plan, props.flannelDaemonSets);
    const wave = { [ARGOCD_SYNC_WAVE]: String(ROLLOUT_SYNC_WAVE) };
    const metadata = (name: string, namespace?: string) => ({
      name,
      ...(namespace !== undefined && { namespace }),
      labels: LABELS,
      annotations: wave,
    });

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: metadata(ROLLOUT_SERVICE_ACCOUNT, FLANNEL_NAMESPACE),
      // Only the Job's pod mounts a token (automountServiceAccountToken on the pod spec).
      automountServiceAccountToken: false,
    });
    const subject = { kind: 'ServiceAccount', name: ROLLOUT_SERVICE_ACCOUNT, namespace: FLANNEL_NAMESPACE };
    const role = (cid: string, name: string, namespace: string, rules: k8s.PolicyRule[]) => {
      new k8s.KubeRole(this, `${cid}-role`, { metadata: metadata(name, namespace), rules });
      new k8s.KubeRoleBinding(this, `${cid}-role-binding`, {
        metadata: metadata(name, namespace),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [subject],
      });
    };
    // `kubectl rollout status daemonset/X`: get X, then list+watch with fieldSelector
    // metadata.name=X, which RBAC matches against resourceNames: exactly the DaemonSets waited for.
    role('wait-flannel', ROLLOUT_WAIT_ROLE, FLANNEL_NAMESPACE, [
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: daemonSets, verbs: ['get', 'list', 'watch'] },
    ]);
    // `kubectl get` lists; `rollout restart` gets and patches the pod template annotation;
    // `rollout status` gets, then lists and watches the one object (it reads only the workload's
    // own status: no ReplicaSets, ControllerRevisions or Pods). Names are not known in advance.
    for (const ns of namespaces) {
      role(`restart-${ns}`, ROLLOUT_RESTART_ROLE, ns, [
        { apiGroups: ['apps'], resources: APPS_WORKLOADS, verbs: ['get', 'list', 'patch', 'watch'] },
      ]);
    }

    const env: Record<string, string> = {
      FLANNEL_NAMESPACE,
      FLANNEL_DAEMONSETS: daemonSets.join(' '),
      ROLLOUT_NAMESPACES: namespaces.join(' '),
      ROLLOUT_SELECTOR: props.selector ?? '',
      ROLLOUT_TIMEOUT_SECONDS: String(props.timeoutSeconds ?? DEFAULT_ROLLOUT_TIMEOUT_SECONDS),
      HOME: TMP_DIR,
      PATH: MAIN_PATH,
    };
    const containerSecurity: k8s.SecurityContext = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    };
    const template: k8s.PodTemplateSpec = {
      metadata: { labels: LABELS },
      spec: {
        serviceAccountName: ROLLOUT_SERVICE_ACCOUNT,
        automountServiceAccountToken: true,
        restartPolicy: 'Never',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: RUN_AS,
          runAsGroup: RUN_AS,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        initContainers: [
          {
            name: 'install-busybox',
            image: props.busyboxImage ?? DEFAULT_ROLLOUT_IMAGES.busybox,
            command: ['/bin/busybox', 'sh', '-c', INSTALL_BUSYBOX],
            resources: {
              requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('8Mi') },
              limits: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('32Mi') },
            },
            securityContext: containerSecurity,
            volumeMounts: [{ name: 'tools', mountPath: TOOLS_DIR }],
          },
        ],
        containers: [
          {
            name: 'rollout-restart',
            image: props.kubectlImage ?? DEFAULT_ROLLOUT_IMAGES.kubectl,
            command: [`${TOOLS_DIR}/sh`, '-c'],
            args: [jobScript('rollout-restart.sh'), 'rollout-restart'],
            env: Object.entries(env).map(([name, value]) => ({ name, value })),
            resources: {
              requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('64Mi') },
              limits: { cpu: k8s.Quantity.fromString('500m'), memory: k8s.Quantity.fromString('256Mi') },
            },
            securityContext: containerSecurity,
            volumeMounts: [
              { name: 'tools', mountPath: TOOLS_DIR, readOnly: true },
              // kubectl's discovery cache ($HOME/.kube/cache); the root filesystem is read-only.
              { name: 'tmp', mountPath: TMP_DIR },
            ],
          },
        ],
        volumes: [
          { name: 'tools', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
          { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
        ],
      },
    };

    this.mtuKey = rolloutMtuKey(plan);
    this.hash = createHash('sha256').update(JSON.stringify({ mtu: this.mtuKey, template })).digest('hex').slice(0, 8);
    this.jobName = `${ROLLOUT_JOB_PREFIX}-${this.hash}`;
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: {
        ...metadata(this.jobName, FLANNEL_NAMESPACE),
        annotations: { ...wave, [`${ANNOTATION_PREFIX}/plan`]: rolloutPlanSummary(plan) },
      },
      spec: {
        // A retry would restart every namespace again; a failed run is for a person to look at
        // (the log lists what failed), who re-runs it by deleting the Job.
        backoffLimit: 0,
        template,
      },
    });
  }
}

/**
 * The flannel DaemonSets to wait for: as given (validated: DNS names, no duplicates, at least one),
 * or upstream's single `kube-flannel-ds` for a uniform plan. A per-path plan has one per cloud,
 * named by FlannelNetwork: they must be given, not guessed here.
 */
function flannelDaemonSets(scope: Construct, plan: MtuPlan, given: readonly string[] | undefined): string[] {
  if (given === undefined) {
    if (plan.mtuMode === 'per-path') throw new Error(`${scope.node.path}: flannelDaemonSets: mtuMode per-path has one flannel DaemonSet per cloud; pass FlannelNetwork.daemonSetNames`);
    return [FLANNEL_DAEMON_SET];
  }
  if (given.length === 0) throw new Error(`${scope.node.path}: flannelDaemonSets: expected at least one DaemonSet to wait for`);
  const seen = new Set<string>();
  for (const name of given) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) || name.length > 253) {
      throw new Error(`${scope.node.path}: flannelDaemonSets: expected DaemonSet names (lowercase DNS subdomains), got ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new Error(`${scope.node.path}: flannelDaemonSets: ${name} is listed twice`);
    seen.add(name);
  }
  return [...given];
}

/**
 * The plan's numbers a rollout depends on: every MTU and MSS that reaches a node or a pod. In
 * per-path mode each cloud's own numbers, and not the cluster-wide ones (only the smallest of the
 * clouds and links) nor the links' overlay MTUs: those live on node routes, which the route-MTU
 * keeper changes under running pods, so a link-only change keeps the Job and restarts nothing.
 */
export function rolloutMtuKey(plan: MtuPlan): Record<string, unknown> {
  if (plan.mtuMode === 'per-path') {
    return {
      mtuMode: plan.mtuMode,
      backend: plan.backend,
      dualStack: plan.dualStack,
      clouds: plan.clouds.map((c) => ({ name: c.name, backendMtu: c.backendMtu, podMtu: c.podMtu, mss: c.mss, mssV6: c.mssV6, deviceMtus: c.deviceMtus })),
    };
  }
  return {
    backend: plan.backend,
    dualStack: plan.dualStack,
    underlayMtu: plan.underlayMtu,
    underlayMtuV6: plan.underlayMtuV6,
    backendMtu: plan.backendMtu,
    podMtu: plan.podMtu,
    mss: plan.mss,
    mssV6: plan.mssV6,
    deviceMtus: plan.deviceMtus,
  };
}

function rolloutPlanSummary(plan: MtuPlan): string {
  const mss = (v4: number, v6: number | null) => `${v4}${v6 !== null ? `/${v6}` : ''}`;
  if (plan.mtuMode === 'per-path') {
    return `restarts pods for ${plan.clouds.map((c) => `cloud ${c.name} pod MTU ${c.podMtu}, MSS ${mss(c.mss, c.mssV6)}`).join('; ')}`;
  }
  return `restarts pods for pod MTU ${plan.podMtu}, MSS ${mss(plan.mss, plan.mssV6)}`;
}
