// Package kamaji models the parts of Kamaji's API (kamaji.clastix.io) that Qumulus manages.
// Kamaji's own Go module is not imported: it pulls in k8s.io/kubernetes. The names here
// follow the CRD schemas of Kamaji 26.x.
package kamaji

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	Group   = "kamaji.clastix.io"
	Version = "v1alpha1"

	// Finalizer is the finalizer Kamaji puts on a TenantControlPlane.
	Finalizer = "finalizer.kamaji.clastix.io"

	// AdminKubeconfigKey and SuperAdminKubeconfigKey are the keys of the admin kubeconfig
	// Secret <name>-admin-kubeconfig.
	AdminKubeconfigKey      = "admin.conf"
	SuperAdminKubeconfigKey = "super-admin.conf"
)

// Values of status.kubernetesResources.version.status.
const (
	StatusProvisioning = "Provisioning"
	StatusUpgrading    = "Upgrading"
	StatusReady        = "Ready"
	StatusSleeping     = "Sleeping"
)

var (
	GroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	TenantControlPlaneGVR = GroupVersion.WithResource("tenantcontrolplanes")
	TenantControlPlaneGVK = GroupVersion.WithKind("TenantControlPlane")
	DataStoreGVR          = GroupVersion.WithResource("datastores")
)

// AdminKubeconfigSecretName is the Secret Kamaji writes the admin kubeconfig to.
func AdminKubeconfigSecretName(tenantControlPlane string) string {
	return tenantControlPlane + "-admin-kubeconfig"
}

// CASecretName is the Secret Kamaji writes the tenant's CA to (keys ca.crt, ca.key) when
// status.certificates.ca does not name another.
func CASecretName(tenantControlPlane string) string {
	return tenantControlPlane + "-ca"
}

// InstalledVersion is the Kubernetes version a TenantControlPlane runs
// (status.kubernetesResources.version.version), "" before Kamaji reports one.
func InstalledVersion(tcp *unstructured.Unstructured) string {
	if tcp == nil {
		return ""
	}
	v, _, _ := unstructured.NestedString(tcp.Object, "status", "kubernetesResources", "version", "version")
	return v
}
