package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

var _ datasource.DataSourceWithConfigure = (*managementClusterDataSource)(nil)

// NewManagementClusterDataSource returns the qumulus_management_cluster data source.
func NewManagementClusterDataSource() datasource.DataSource {
	return &managementClusterDataSource{}
}

type managementClusterDataSource struct {
	data *providerData
}

type managementClusterModel struct {
	Host                        types.String `tfsdk:"host"`
	KubernetesVersion           types.String `tfsdk:"kubernetes_version"`
	KamajiInstalled             types.Bool   `tfsdk:"kamaji_installed"`
	ClusterAPIInstalled         types.Bool   `tfsdk:"cluster_api_installed"`
	KamajiControlPlaneInstalled types.Bool   `tfsdk:"kamaji_control_plane_provider_installed"`
}

func (d *managementClusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_management_cluster"
}

func (d *managementClusterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads what the management cluster the provider is configured for runs: its Kubernetes " +
			"version and whether the APIs Qumulus builds on (Kamaji, Cluster API, Kamaji's Cluster API control-plane " +
			"provider) are installed. Use it in `precondition` blocks to fail early on a cluster that is not ready " +
			"for tenants, and to check the provider's connection settings.",
		Attributes: map[string]schema.Attribute{
			"host": schema.StringAttribute{
				MarkdownDescription: "URL of the management cluster's API server, as the provider reaches it.",
				Computed:            true,
			},
			"kubernetes_version": schema.StringAttribute{
				MarkdownDescription: "Kubernetes version of the management cluster's API server, e.g. `v1.37.2`.",
				Computed:            true,
			},
			"kamaji_installed": schema.BoolAttribute{
				MarkdownDescription: fmt.Sprintf("Whether the API server serves Kamaji's `%s` (`TenantControlPlane`).", kamaji.TenantControlPlaneGVR.GroupVersion()),
				Computed:            true,
			},
			"cluster_api_installed": schema.BoolAttribute{
				MarkdownDescription: fmt.Sprintf("Whether the API server serves Cluster API's `%s` (`Cluster`, `MachineDeployment`).", capi.ClusterGVR.GroupVersion()),
				Computed:            true,
			},
			"kamaji_control_plane_provider_installed": schema.BoolAttribute{
				MarkdownDescription: fmt.Sprintf("Whether the API server serves `%s` (`KamajiControlPlane`), Kamaji's Cluster API control-plane provider.", capi.KamajiControlPlaneGVR.GroupVersion()),
				Computed:            true,
			},
		},
	}
}

func (d *managementClusterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		d.data = data
	}
}

func (d *managementClusterDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	clients, diags := d.data.managementClients("data.qumulus_management_cluster")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	version, err := clients.Kubernetes.Discovery().ServerVersion()
	if err != nil {
		addAPIError(&resp.Diagnostics, clients.REST.Host, "reading its version", err)
		return
	}

	model := managementClusterModel{
		Host:              types.StringValue(clients.REST.Host),
		KubernetesVersion: types.StringValue(version.GitVersion),
	}
	for _, check := range []struct {
		gvr  k8sschema.GroupVersionResource
		into *types.Bool
	}{
		{kamaji.TenantControlPlaneGVR, &model.KamajiInstalled},
		{capi.ClusterGVR, &model.ClusterAPIInstalled},
		{capi.KamajiControlPlaneGVR, &model.KamajiControlPlaneInstalled},
	} {
		ok, err := kube.ServesResource(clients.Kubernetes.Discovery(), check.gvr)
		if err != nil {
			addAPIError(&resp.Diagnostics, clients.REST.Host, "listing its APIs", err)
			return
		}
		*check.into = types.BoolValue(ok)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}
