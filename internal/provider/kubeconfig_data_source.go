package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
)

var (
	_ datasource.DataSourceWithConfigure        = (*kubeconfigDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*kubeconfigDataSource)(nil)
)

// NewKubeconfigDataSource returns the qumulus_kubeconfig data source.
func NewKubeconfigDataSource() datasource.DataSource {
	return &kubeconfigDataSource{}
}

type kubeconfigDataSource struct {
	data *providerData
}

func (d *kubeconfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_kubeconfig"
}

func (d *kubeconfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attributes := kubeconfigSchema(
		func(a kubeconfigAttribute) schema.Attribute {
			return schema.StringAttribute{MarkdownDescription: a.description, Optional: a.optional, Computed: a.computed, Sensitive: a.sensitive, Validators: a.validators}
		},
		func(a kubeconfigAttribute) schema.Attribute {
			return schema.BoolAttribute{MarkdownDescription: a.description, Optional: a.optional, Computed: a.computed, Sensitive: a.sensitive}
		})
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the admin kubeconfig of a cluster (a Kamaji control plane) from the Secret Kamaji " +
			"writes on the management cluster, and takes it apart into the settings the `kubernetes`, `helm` and other " +
			"providers take (`host`, `cluster_ca_certificate`, `client_certificate`, `client_key`).\n\n" +
			"The kubeconfig, its client key and token are **stored in the Terraform state** (marked sensitive, so not " +
			"shown in plans and outputs). Where the state must not hold them, use the ephemeral resource " +
			"`qumulus_kubeconfig` (Terraform 1.10 or later, OpenTofu 1.11 or later) instead.\n\n" +
			"The control plane must be usable (Kamaji reports `Ready`, `Upgrading`, `Migrating`, `WriteLimited` or " +
			"`Sleeping`): reading fails, naming the object, while it is missing, provisioning or not ready, or its " +
			"Secret is missing. Refer to the cluster with `cluster_id = qumulus_cluster.<name>.id` so that a cluster " +
			"created, replaced or re-exposed in the same apply is read after it is ready.",
		Attributes: attributes,
	}
}

func (d *kubeconfigDataSource) ConfigValidators(_ context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(kubeconfigByID, kubeconfigByName[1]),
		datasourcevalidator.Conflicting(kubeconfigByID, kubeconfigByName[0]),
		datasourcevalidator.RequiredTogether(kubeconfigByName...),
	}
}

func (d *kubeconfigDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		d.data = data
	}
}

func (d *kubeconfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m kubeconfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(readKubeconfig(ctx, d.data, "data.qumulus_kubeconfig", &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
