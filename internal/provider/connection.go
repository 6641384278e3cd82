package provider

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
)

// settingsLookedAt names every place the provider looks for the management cluster, for
// the error a user sees when none of them is set.
var settingsLookedAt = fmt.Sprintf(
	"config_path (%s), config_paths (%s), config_content (%s), host (%s) and in_cluster (%s)",
	envConfigPath, envConfigPaths, envConfigContent, envHost, envInCluster)

// providerDataFrom is the Configure step of every resource and data source: nil before the
// provider is configured, an error for data of another type.
func providerDataFrom(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	d, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", data))
		return nil
	}
	return d
}

// managementClients returns the shared clients of the management cluster, or diagnostics
// that say why there are none. subject names what needed them, e.g. `data.qumulus_x`.
func (d *providerData) managementClients(subject string) (*kube.Clients, diag.Diagnostics) {
	var diags diag.Diagnostics
	if d == nil || d.management == nil {
		diags.AddError("Provider Not Configured",
			subject+" was used before the qumulus provider was configured. This is a bug in the provider; please report it.")
		return nil, diags
	}
	clients, err := d.management.Clients()
	if err == nil {
		return clients, nil
	}
	switch {
	case errors.Is(err, kube.ErrUnknownAtPlan):
		diags.AddError("Management Cluster Connection Not Known Yet",
			fmt.Sprintf("%s needs the management cluster's API now, but the provider's connection settings are not known until apply. "+
				"Either make those values known at plan time (apply the resources they come from first, e.g. with -target), "+
				"or add depends_on so that %s is read during apply.\n\n%s", subject, subject, err))
	case errors.Is(err, kube.ErrNotConfigured):
		diags.AddError("Management Cluster Not Configured",
			fmt.Sprintf("%s needs the management cluster's API, but no setting says where it is. The provider looked at %s. "+
				"It does not read KUBECONFIG or ~/.kube/config on its own: to use your kubeconfig, set config_path = \"~/.kube/config\" "+
				"in the provider block or export %s=$KUBECONFIG.", subject, settingsLookedAt, envConfigPath))
	default:
		diags.AddError("Invalid Management Cluster Configuration",
			fmt.Sprintf("%s needs the management cluster's API, but the provider's connection settings cannot be used. "+
				"Correct the qumulus provider block or its QUMULUS_* environment variables.\n\n%s", subject, err))
	}
	return nil, diags
}

// tenantClusters returns the provider's shared cache of tenant-cluster connections: every
// resource and data source that works in a tenant cluster gets its clients there, so a
// provider run builds them once per cluster (and again when Kamaji rotates the
// credentials).
func (d *providerData) tenantClusters(subject string) (*tenantcluster.Cache, string, diag.Diagnostics) {
	clients, diags := d.managementClients(subject)
	if diags.HasError() {
		return nil, "", diags
	}
	d.tenantsOnce.Do(func() {
		d.tenants = tenantcluster.NewCache(
			tenantcluster.Reader{Kube: clients.Kubernetes, Dynamic: clients.Dynamic},
			tenantcluster.ClientOptions{UserAgent: d.userAgent, QPS: kube.DefaultQPS, Burst: kube.DefaultBurst})
	})
	return d.tenants, clients.REST.Host, nil
}
