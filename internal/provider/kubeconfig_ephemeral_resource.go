package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/ephemeralvalidator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
)

var (
	_ ephemeral.EphemeralResourceWithConfigure        = (*kubeconfigEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigValidators = (*kubeconfigEphemeralResource)(nil)
)

// NewKubeconfigEphemeralResource returns the qumulus_kubeconfig ephemeral resource.
func NewKubeconfigEphemeralResource() ephemeral.EphemeralResource {
	return &kubeconfigEphemeralResource{}
}

type kubeconfigEphemeralResource struct {
	data *providerData
}

func (e *kubeconfigEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_kubeconfig"
}

func (e *kubeconfigEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	attributes := kubeconfigSchema(
		func(a kubeconfigAttribute) schema.Attribute {
			return schema.StringAttribute{MarkdownDescription: a.description, Optional: a.optional, Computed: a.computed, Sensitive: a.sensitive, Validators: a.validators}
		},
		func(a kubeconfigAttribute) schema.Attribute {
			return schema.BoolAttribute{MarkdownDescription: a.description, Optional: a.optional, Computed: a.computed, Sensitive: a.sensitive}
		})
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the admin kubeconfig of a cluster (a Kamaji control plane) like the data source " +
			"`qumulus_kubeconfig`, without ever writing it to the plan or the state: use it to configure the " +
			"`kubernetes`, `helm` or another provider for the tenant cluster, or in write-only attributes.\n\n" +
			"Ephemeral resources need **Terraform 1.10 or later** or **OpenTofu 1.11 or later**; older versions " +
			"report `ephemeral` blocks as unsupported. Terraform opens it in every run that needs its values, plan " +
			"included, so the cluster must exist and be usable then: refer to it with `cluster_id = " +
			"qumulus_cluster.<name>.id`, which is unknown until the cluster is created, so that the first apply " +
			"opens it only after the cluster is ready.",
		Attributes: attributes,
	}
}

func (e *kubeconfigEphemeralResource) ConfigValidators(_ context.Context) []ephemeral.ConfigValidator {
	return []ephemeral.ConfigValidator{
		ephemeralvalidator.ExactlyOneOf(kubeconfigByID, kubeconfigByName[1]),
		ephemeralvalidator.Conflicting(kubeconfigByID, kubeconfigByName[0]),
		ephemeralvalidator.RequiredTogether(kubeconfigByName...),
	}
}

func (e *kubeconfigEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		e.data = data
	}
}

func (e *kubeconfigEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m kubeconfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(readKubeconfig(ctx, e.data, "ephemeral.qumulus_kubeconfig", &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}
