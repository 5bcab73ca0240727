// cdk8s validation plugin (see cdk8s.yaml): checks every synthesized object against the
// Kubernetes schema offline. The checks are src/validation/kubernetes-schema.ts (compiled to lib/),
// which `flannel-mtu synth` also runs in-process; this adapter lets `cdk8s synth` run them too.
// The GitOps objects of `synth --gitops` (Argo CD Application, Flux Kustomization) are for the
// GitOps tools' clusters and have no Kubernetes schema here: they are left to those tools.
const { validateObjects, describeObject } = require('../../lib/src/validation/kubernetes-schema.js');

const GITOPS_KINDS = new Set(['argoproj.io/v1alpha1/Application', 'kustomize.toolkit.fluxcd.io/v1/Kustomization']);

class KubernetesSchemaValidation {
  async validate(context) {
    let failed = false;
    for (const manifestPath of context.manifests) {
      const objects = context.parseManifest(manifestPath);
      for (const obj of objects) {
        if (obj && GITOPS_KINDS.has(`${obj.apiVersion}/${obj.kind}`)) continue;
        for (const violation of validateObjects([obj])) {
          failed = true;
          context.report.addViolation({
            ruleName: 'kubernetes-openapi-schema',
            recommendation: violation.message,
            fix: 'change the construct that renders this object; the schema is Kubernetes 1.33',
            violatingResources: [{ resourceName: describeObject(obj), locations: [violation.message], manifestPath }],
          });
        }
      }
    }
    context.report.submit(failed ? 'failure' : 'success');
  }
}

module.exports = { KubernetesSchemaValidation };
