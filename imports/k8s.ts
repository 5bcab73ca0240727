// Kubernetes 1.27.0 L1 classes (KubeDaemonSet, KubeConfigMap, ...), as cdk8s-plus-27 ships them.
//
// The conventional `cdk8s import k8s` downloads the Kubernetes schema from GitHub, which this
// project's build machines cannot reach, and it has no offline mode. cdk8s-plus-27 already bundles
// the generated classes (its own cdk8s.yaml imports k8s@1.27.0), so they are re-exported here
// instead of being generated. Do not edit; to move to another Kubernetes version, change the
// pinned cdk8s-plus-NN package.
export * from 'cdk8s-plus-27/lib/imports/k8s';
