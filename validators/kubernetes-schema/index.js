// cdk8s validation plugin (see cdk8s.yaml): checks every synthesized object against the
// Kubernetes schema offline. The checks are src/validation/kubernetes-schema.ts, which
// `npm run synth` also runs in-process; this adapter lets `cdk8s synth` run them too.
require('tsx/cjs');
const { validateObjects, describeObject } = require('../../src/validation/kubernetes-schema.ts');

class KubernetesSchemaValidation {
  async validate(context) {
    let failed = false;
    for (const manifestPath of context.manifests) {
      const objects = context.parseManifest(manifestPath);
      for (const obj of objects) {
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
