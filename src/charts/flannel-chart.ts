import { ApiObject, Chart, ChartProps, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { Environment, InterfaceSelection } from '../model/environment';
import { resolveEnvironment } from '../model/validate';
import { FlannelCloudProps, FlannelNetwork } from '../constructs/flannel-network';
import { ROUTE_MTU_KEEPER_VOLUME, RouteMtuKeeper } from '../constructs/route-mtu-keeper';
import { NodeMtu } from '../constructs/node-mtu';
import { ARGOCD_SYNC_WAVE, FLANNEL_SYNC_WAVE, RolloutRestart } from '../constructs/rollout-restart';
import { PathMtuProbe } from '../constructs/path-mtu-probe';
import { TcpMssClamp } from '../constructs/tcp-mss-clamp';
import { cloudView, MtuPlan, planMtu } from '../mtu/plan';
import { probeTargets } from '../mtu/probe';

/**
 * The usual cdk8s ChartProps (labels, namespace) and the environment. Resource names are never
 * hashed: they must match upstream kube-flannel.yml's so the chart replaces an upstream install.
 */
export interface FlannelChartProps extends Omit<ChartProps, 'disableResourceNameHashes'> {
  /** The environment to generate manifests for; validated and resolved (`resolveEnvironment`). */
  readonly environment: Environment;
  /**
   * A plan already derived from `environment`.
   * @default - planMtu(environment)
   */
  readonly plan?: MtuPlan;
}

/**
 * One environment's manifests: the plan, then the constructs that read it, then (when the
 * environment has `rollout`) the Job that restarts overlay workloads after flannel rolled out.
 */
export class FlannelChart extends Chart {
  public readonly plan: MtuPlan;
  public readonly flannel: FlannelNetwork;
  /** The rollout-restart Job and its RBAC, when `rollout.enabled`. */
  public readonly rollout?: RolloutRestart;

  constructor(scope: Construct, id: string, props: FlannelChartProps) {
    const { environment: _environment, plan: _plan, ...chartProps } = props;
    super(scope, id, { ...chartProps, disableResourceNameHashes: true });
    const env = resolveEnvironment(props.environment);
    this.plan = props.plan ?? planMtu(env);
    const image = env.images.flannel;
    const networkPolicies = env.netpol?.enabled ? { image: env.netpol.image, args: env.netpol.args } : undefined;
    if (this.plan.mtuMode === 'per-path') {
      // One flannel per cloud, each at the cloud's own numbers, with a keeper holding the routes to
      // other clouds at the link's MTU; the clamp follows the route MTUs (--clamp-mss-to-pmtu).
      const clouds: FlannelCloudProps[] = env.clouds.map((cloud) => {
        const view = cloudView(this.plan, cloud.name);
        if (!cloud.nodeSelector) throw new Error(`${this.node.path}: mtuMode per-path needs a nodeSelector on cloud "${cloud.name}"`);
        const interfaces = cloudInterfaces(env.flannel, cloud);
        const nodeMtu = new NodeMtu(this, `node-mtu-${cloud.name}`, { plan: view, image, interfaces });
        const clamp = new TcpMssClamp(this, `tcp-mss-clamp-${cloud.name}`, { plan: view, image, enabled: env.mssClamp.enabled });
        const keeper = new RouteMtuKeeper(this, `route-mtu-keeper-${cloud.name}`, { plan: this.plan, cloud: cloud.name, image });
        return {
          name: cloud.name,
          nodeSelector: cloud.nodeSelector,
          plan: view,
          nodeInitContainers: [nodeMtu.container, clamp.container],
          sidecars: [keeper.container],
          volumes: [ROUTE_MTU_KEEPER_VOLUME],
          interfaces,
        };
      });
      this.flannel = new FlannelNetwork(this, 'flannel', { plan: this.plan, flannel: env.flannel, images: env.images, clouds, distribution: env.distribution, networkPolicies });
    } else {
      const nodeMtu = new NodeMtu(this, 'node-mtu', { plan: this.plan, image, interfaces: env.flannel });
      const clamp = new TcpMssClamp(this, 'tcp-mss-clamp', { plan: this.plan, image, enabled: env.mssClamp.enabled });
      this.flannel = new FlannelNetwork(this, 'flannel', {
        plan: this.plan,
        flannel: env.flannel,
        images: env.images,
        nodeInitContainers: [nodeMtu.container, clamp.container],
        distribution: env.distribution,
        networkPolicies,
      });
    }
    if (env.probe.enabled) {
      const targets = probeTargets(env, this.plan);
      for (const cloud of env.clouds) {
        new PathMtuProbe(this, `path-mtu-probe-${cloud.name}`, {
          cloud,
          targets: targets.filter((t) => t.from === cloud.name),
          image,
          intervalSeconds: env.probe.intervalSeconds,
          marginBytes: env.probe.marginBytes,
          ...(env.probe.metrics && { textfileDirectory: env.probe.textfileDirectory }),
        });
      }
    }
    if (env.rollout?.enabled) {
      // Argo CD: flannel in an explicit earlier wave than the Job (see RolloutRestart).
      for (const c of this.flannel.node.findAll()) {
        if (c instanceof ApiObject) c.metadata.addAnnotation(ARGOCD_SYNC_WAVE, String(FLANNEL_SYNC_WAVE));
      }
      this.rollout = new RolloutRestart(this, 'rollout-restart', {
        plan: this.plan,
        flannelDaemonSets: this.flannel.daemonSetNames,
        namespaces: env.rollout.namespaces,
        selector: env.rollout.selector,
        timeoutSeconds: env.rollout.timeoutSeconds,
        kubectlImage: env.images.kubectl,
        busyboxImage: env.images.busybox,
      });
    }
    if (env.imagePullSecrets.length > 0) {
      // Every pod this chart generates pulls an image: flannel's, the probes', the rollout Job's.
      const secrets = env.imagePullSecrets.map((name) => ({ name }));
      for (const c of this.node.findAll()) {
        if (c instanceof ApiObject && (c.kind === 'DaemonSet' || c.kind === 'Job')) c.addJsonPatch(JsonPatch.add('/spec/template/spec/imagePullSecrets', secrets));
      }
    }
  }
}

/** A cloud's interface selection in per-path mode: its own when it sets any, else the cluster's. */
export function cloudInterfaces(flannel: InterfaceSelection, cloud: InterfaceSelection): InterfaceSelection {
  const own = cloud.iface !== undefined || cloud.ifaceRegex !== undefined || cloud.ifaceCanReach !== undefined;
  const from = own ? cloud : flannel;
  return {
    ...(from.iface !== undefined && { iface: from.iface }),
    ...(from.ifaceRegex !== undefined && { ifaceRegex: from.ifaceRegex }),
    ...(from.ifaceCanReach !== undefined && { ifaceCanReach: from.ifaceCanReach }),
  };
}
