package validators

import (
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// KubernetesVersion accepts a Kubernetes version, with or without the leading "v"
// (v1.35.0, 1.35.0), no newer than the newest Kamaji supports.
func KubernetesVersion() validator.String {
	return kubeString{"a Kubernetes version such as v1.35.0, supported by Kamaji", func(s string) []string {
		v, err := kube.ParseVersion(s)
		if err != nil {
			return []string{"write major.minor.patch, e.g. v1.35.0"}
		}
		if err := cluster.CheckSupported(v); err != nil {
			return []string{err.Error()}
		}
		return nil
	}}
}
