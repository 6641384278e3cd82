package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var (
	_ resource.ResourceWithConfigure      = (*tenantResource)(nil)
	_ resource.ResourceWithImportState    = (*tenantResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*tenantResource)(nil)
	_ resource.ResourceWithValidateConfig = (*tenantResource)(nil)
)

const (
	tenantCreateTimeout = 5 * time.Minute
	tenantUpdateTimeout = 5 * time.Minute
	tenantDeleteTimeout = 10 * time.Minute
)

var objectAsOptions = basetypes.ObjectAsOptions{}

// Values of status.
const (
	statusActive      = "Active"
	statusTerminating = "Terminating"
	statusUnlabelled  = "Unlabelled"
)

// minutes writes a whole number of minutes as Terraform's timeouts do, e.g. 5m.
func minutes(d time.Duration) string {
	return fmt.Sprintf("%dm", int(d.Minutes()))
}

// NewTenantResource returns the qumulus_tenant resource.
func NewTenantResource() resource.Resource {
	return &tenantResource{}
}

type tenantResource struct {
	data *providerData
}

func (r *tenantResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant"
}

func (r *tenantResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	quantities := func(what string) schema.MapAttribute {
		return schema.MapAttribute{
			MarkdownDescription: what + " Keys are resource names (`cpu`, `memory`, `ephemeral-storage`, ...), values quantities (`500m`, `1Gi`).",
			ElementType:         types.StringType,
			Optional:            true,
			Validators: []validator.Map{
				mapvalidator.SizeAtLeast(1),
				mapvalidator.KeysAre(validators.QualifiedName()),
				mapvalidator.ValueStringsAre(validators.Quantity()),
			},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A tenant's isolated home in the management cluster: a namespace of its own, RoleBindings " +
			"that give its members access to their own clusters and kubeconfig Secrets and nothing of other tenants, " +
			"NetworkPolicies that keep other tenants' traffic out, and optional quota and container defaults. " +
			"Every object it creates carries the labels `" + kube.LabelManagedBy + "=" + kube.ManagedBy + "` and `" +
			kube.LabelTenant + "=<name>`.\n\n" +
			"Destroying a tenant deletes its namespace and so every cluster in it. While the namespace holds " +
			"TenantControlPlanes or Cluster API Clusters, destroy is refused unless `force_destroy` is `true` " +
			"(apply that first, then destroy); destroy then waits for the namespace to be gone.\n\n" +
			"The provider's identity needs to create and delete namespaces, Roles, RoleBindings, NetworkPolicies, " +
			"ResourceQuotas and LimitRanges, to list TenantControlPlanes and Cluster API Clusters, and (Kubernetes' RBAC " +
			"escalation rule) to hold the permissions of the `admin` ClusterRole or have the `bind` verb on it.\n\n" +
			fmt.Sprintf("Default timeouts: create %s, update %s, delete %s.", minutes(tenantCreateTimeout), minutes(tenantUpdateTimeout), minutes(tenantDeleteTimeout)),
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The tenant's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the tenant, a DNS-1123 label (lower-case letters, digits and `-`, at most 63 " +
					"characters). It is unique in the management cluster. Changing it replaces the tenant.",
				Required:      true,
				Validators:    []validator.String{validators.DNS1123Label()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "The namespace the tenant owns. Default `" + tenant.DefaultNamespacePrefix + "<name>`. " +
					"It must not exist yet: the tenant creates it and deletes it on destroy. Changing it replaces the tenant. " +
					"The system namespaces (`" + strings.Join(tenant.ReservedNamespaces, "`, `") + "`) are refused.",
				Optional:      true,
				Computed:      true,
				Validators:    []validator.String{validators.DNS1123Label(), stringvalidator.NoneOf(tenant.ReservedNamespaces...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()},
			},
			"labels": schema.MapAttribute{
				MarkdownDescription: "Labels of the namespace. The provider's own labels (`" + kube.LabelManagedBy + "`, `" +
					kube.LabelTenant + "`) are added and may not be set here. Labels other tools add are left alone. Updated in place.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(validators.QualifiedName()),
					mapvalidator.ValueStringsAre(validators.LabelValue()),
				},
			},
			"annotations": schema.MapAttribute{
				MarkdownDescription: "Annotations of the namespace. Annotations other tools add are left alone. Updated in place.",
				ElementType:         types.StringType,
				Optional:            true,
				Validators:          []validator.Map{mapvalidator.KeysAre(validators.QualifiedName())},
			},
			"members": schema.SetNestedAttribute{
				MarkdownDescription: "Who may use the tenant, and how. Each role with members gets a RoleBinding `qumulus-<role>` " +
					"in the namespace to the built-in ClusterRole of that name (`view` cannot read Secrets, so it cannot read " +
					"kubeconfigs). Every member is also bound (RoleBinding `" + tenant.PlatformRole + "`) to the Role `" +
					tenant.PlatformRole + "`, which lets them read, never change, the tenant's clusters: TenantControlPlanes, " +
					"Cluster API Clusters, MachineDeployments, Machines, KamajiControlPlanes and kubeadm configs, which the " +
					"built-in roles do not cover. Clusters are changed through Terraform. Updated in place.",
				Optional: true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"kind": schema.StringAttribute{
							MarkdownDescription: "`User`, `Group` or `ServiceAccount`.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.OneOf(tenant.Kinds...)},
						},
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the user, group or service account, as the management cluster's authenticator reports it.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
						},
						"namespace": schema.StringAttribute{
							MarkdownDescription: "Namespace of a `ServiceAccount`. Default: the tenant's namespace. Only for service accounts.",
							Optional:            true,
							Validators:          []validator.String{validators.DNS1123Label()},
						},
						"role": schema.StringAttribute{
							MarkdownDescription: "`admin`, `edit` or `view`, mapped to the built-in ClusterRoles of those names.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.OneOf(tenant.Roles...)},
						},
					},
				},
			},
			"network_isolation": schema.SingleNestedAttribute{
				MarkdownDescription: "NetworkPolicies of the namespace. When enabled (the default): `" + tenant.PolicyDefaultDeny +
					"` denies all ingress not allowed otherwise, `" + tenant.PolicySameNamespace + "` allows the namespace's own pods, `" +
					tenant.PolicyPlatform + "` allows the namespaces listed here, and `" + tenant.PolicyControlPlanes + "` lets anything " +
					"reach the tenant's control-plane pods (label `kamaji.clastix.io/name`), whose API servers worker nodes and users " +
					"connect to from outside. Other tenants' pods are kept out. Updated in place.",
				Optional: true,
				Computed: true,
				Default:  objectdefault.StaticValue(defaultNetworkIsolation()),
				Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{
						MarkdownDescription: "Whether the tenant has NetworkPolicies at all. Default `true`.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(true),
					},
					"allowed_namespaces": schema.SetAttribute{
						MarkdownDescription: "Namespaces, by name, whose pods may reach the tenant's pods. Default `[\"" +
							strings.Join(tenant.DefaultAllowedNamespaces, "\", \"") + "\"]` (Kamaji's controller talks to every control plane). " +
							"Add e.g. your monitoring namespace.",
						ElementType: types.StringType,
						Optional:    true,
						Computed:    true,
						Default:     setdefault.StaticValue(defaultAllowedNamespaces()),
						Validators:  []validator.Set{setvalidator.ValueStringsAre(validators.DNS1123Label())},
					},
					"allowed_namespace_selectors": schema.SetAttribute{
						MarkdownDescription: "Label selectors of further namespaces whose pods may reach the tenant's pods; a namespace " +
							"matches a selector when it has all of its labels. Default none.",
						ElementType: selectorType,
						Optional:    true,
						Computed:    true,
						Default:     setdefault.StaticValue(types.SetValueMust(selectorType, nil)),
						Validators:  []validator.Set{setvalidator.ValueMapsAre(mapvalidator.SizeAtLeast(1), mapvalidator.KeysAre(validators.QualifiedName()), mapvalidator.ValueStringsAre(validators.LabelValue()))},
					},
					"allow_control_plane_ingress": schema.BoolAttribute{
						MarkdownDescription: "Whether anything may reach the tenant's control-plane pods. Default `true`; without it " +
							"worker nodes cannot join the tenant's clusters unless another policy admits them.",
						Optional: true,
						Computed: true,
						Default:  booldefault.StaticBool(true),
					},
				},
			},
			"quota": schema.MapAttribute{
				MarkdownDescription: "Hard limits of the ResourceQuota `" + tenant.ResourceQuotaName + "`, e.g. `requests.cpu`, " +
					"`limits.memory`, `persistentvolumeclaims`, or object counts such as `count/tenantcontrolplanes." + kamaji.Group +
					"` (the number of clusters). Keys are resource names, values quantities. Without it the tenant has no quota. Updated in place.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(validators.QualifiedName()),
					mapvalidator.ValueStringsAre(validators.Quantity()),
				},
			},
			"limit_range": schema.SingleNestedAttribute{
				MarkdownDescription: "Container defaults and bounds of the LimitRange `" + tenant.LimitRangeName + "`. Without it the " +
					"tenant has no LimitRange. Updated in place.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"default":         quantities("Limits of containers that set none."),
					"default_request": quantities("Requests of containers that set none."),
					"max":             quantities("Largest limits a container may have."),
					"min":             quantities("Smallest requests a container may have."),
				},
			},
			"force_destroy": schema.BoolAttribute{
				MarkdownDescription: "Destroy the tenant even while its namespace holds TenantControlPlanes or Cluster API " +
					"Clusters, deleting them with it. Default `false`. Takes effect once applied: set it, apply, then destroy.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "Phase of the namespace: `Active`; `Terminating` when it is being deleted out of band " +
					"(the next apply then replaces the tenant); `Unlabelled` when its `" + kube.LabelTenant + "` label was removed " +
					"(the next apply puts it back).",
				Computed: true,
			},
			"role_names": schema.ListAttribute{
				MarkdownDescription: "Names of the Roles the tenant has (`" + tenant.PlatformRole + "` when it has members), when they are as the provider wrote them.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"role_binding_names": schema.ListAttribute{
				MarkdownDescription: "Names of the RoleBindings the tenant has, when they bind exactly the configured members.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"network_policy_names": schema.ListAttribute{
				MarkdownDescription: "Names of the NetworkPolicies the tenant has, when they are as the provider wrote them.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"resource_quota_name": schema.StringAttribute{
				MarkdownDescription: "Name of the ResourceQuota, or null without `quota`.",
				Computed:            true,
			},
			"limit_range_name": schema.StringAttribute{
				MarkdownDescription: "Name of the LimitRange, or null without `limit_range`.",
				Computed:            true,
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *tenantResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		r.data = data
	}
}

func (r *tenantResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m tenantModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Namespace.IsNull() && !m.Name.IsUnknown() && !m.Name.IsNull() {
		if ns := tenant.DefaultNamespace(m.Name.ValueString()); len(ns) > 63 {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Tenant Name Too Long For Its Namespace",
				fmt.Sprintf("The default namespace %q is longer than 63 characters. Shorten the name or set namespace.", ns))
		}
	}
	if !m.Labels.IsUnknown() {
		for key := range m.Labels.Elements() {
			if kube.IsReservedLabel(key) {
				resp.Diagnostics.AddAttributeError(path.Root("labels").AtMapKey(key), "Reserved Label",
					fmt.Sprintf("The label %s is set by the provider on everything a tenant owns and cannot be configured. Remove it from labels.", key))
			}
		}
	}
	if m.Members.IsUnknown() || m.Members.IsNull() {
		return
	}
	var members []memberModel
	resp.Diagnostics.Append(m.Members.ElementsAs(ctx, &members, false)...)
	tenantNamespace := m.Namespace.ValueString()
	if m.Namespace.IsNull() {
		tenantNamespace = tenant.DefaultNamespace(m.Name.ValueString())
	}
	seen := map[string]bool{}
	for _, mm := range members {
		if mm.Kind.IsUnknown() {
			continue
		}
		at := path.Root("members")
		if mm.Kind.ValueString() == tenant.KindServiceAccount && !mm.Name.IsUnknown() && !mm.Namespace.IsUnknown() && !mm.Role.IsUnknown() &&
			!m.Namespace.IsUnknown() && !m.Name.IsUnknown() {
			// With and without the tenant's namespace written out, these are one subject.
			ns := mm.Namespace.ValueString()
			if ns == "" {
				ns = tenantNamespace
			}
			key := ns + "/" + mm.Name.ValueString() + "/" + mm.Role.ValueString()
			if seen[key] {
				resp.Diagnostics.AddAttributeError(at, "Duplicate Member",
					fmt.Sprintf("ServiceAccount %s/%s is listed twice with role %s (once with the tenant's namespace written out, once without). Keep one.",
						ns, mm.Name.ValueString(), mm.Role.ValueString()))
			}
			seen[key] = true
		}
		switch mm.Kind.ValueString() {
		case tenant.KindServiceAccount:
			if !mm.Name.IsUnknown() {
				validateString(ctx, validators.DNS1123Subdomain(), at, mm.Name, &resp.Diagnostics)
			}
		default:
			if !mm.Namespace.IsNull() {
				resp.Diagnostics.AddAttributeError(at, "Namespace Only For Service Accounts",
					fmt.Sprintf("Member %s %q has a namespace, but only ServiceAccount members have one. Remove namespace.",
						mm.Kind.ValueString(), mm.Name.ValueString()))
			}
		}
	}
}

func validateString(ctx context.Context, v validator.String, at path.Path, value types.String, diags *diag.Diagnostics) {
	var resp validator.StringResponse
	v.ValidateString(ctx, validator.StringRequest{Path: at, ConfigValue: value}, &resp)
	diags.Append(resp.Diagnostics...)
}

func (r *tenantResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config tenantModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *tenantModel
	if !req.State.Raw.IsNull() {
		state = &tenantModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}

	if config.Namespace.IsNull() && !plan.Name.IsUnknown() {
		plan.Namespace = types.StringValue(tenant.DefaultNamespace(plan.Name.ValueString()))
		if state != nil && !state.Namespace.Equal(plan.Namespace) {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("namespace"))
		}
	}
	if state != nil {
		switch state.Status.ValueString() {
		case statusTerminating:
			// Deleted out of band: only a new namespace helps.
			plan.Status = types.StringUnknown()
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("status"))
		case statusUnlabelled:
			// The update puts the tenant label back.
			plan.Status = types.StringValue(statusActive)
		default:
			plan.Status = state.Status
		}
	}

	// The names follow from the configuration; planning them shows objects deleted or
	// changed out of band as a difference. Each list is known when what it follows from is.
	if !plan.Name.IsUnknown() && !plan.Namespace.IsUnknown() {
		plan.ID = plan.Name
		named := plan
		// Labels and annotations name no object and may still be unknown.
		named.Labels, named.Annotations = types.MapNull(types.StringType), types.MapNull(types.StringType)
		knownMembers, knownNetwork := isKnown(ctx, plan.Members), isKnown(ctx, plan.NetworkIsolation)
		knownQuota, knownLimits := isKnown(ctx, plan.Quota), isKnown(ctx, plan.LimitRange)
		if !knownMembers {
			named.Members = types.SetNull(types.ObjectType{AttrTypes: memberAttrTypes})
		}
		if !knownNetwork {
			named.NetworkIsolation = types.ObjectNull(networkIsolationAttrTypes)
		}
		if !knownQuota {
			named.Quota = types.MapNull(types.StringType)
		}
		if !knownLimits {
			named.LimitRange = types.ObjectNull(limitRangeAttrTypes)
		}
		s, diags := named.spec(ctx)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		plan.setNames(s.ObjectNames())
		if !knownMembers {
			plan.RoleNames, plan.RoleBindingNames = types.ListUnknown(types.StringType), types.ListUnknown(types.StringType)
		}
		if !knownNetwork {
			plan.NetworkPolicyNames = types.ListUnknown(types.StringType)
		}
		if !knownQuota {
			plan.ResourceQuotaName = types.StringUnknown()
		}
		if !knownLimits {
			plan.LimitRangeName = types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *tenantResource) client(subject string) (*tenant.Client, string, diag.Diagnostics) {
	clients, diags := r.data.managementClients(subject)
	if diags.HasError() {
		return nil, "", diags
	}
	return &tenant.Client{Kube: clients.Kubernetes, Dynamic: clients.Dynamic, Discovery: clients.Discovery}, clients.REST.Host, nil
}

// applying holds what Create and Update need: the planned model, its spec, a client and
// a context bounded by the operation's timeout.
type applying struct {
	plan   tenantModel
	spec   tenant.Spec
	client *tenant.Client
	host   string
	ctx    context.Context
	cancel context.CancelFunc
}

func (r *tenantResource) prepare(ctx context.Context, planned tfsdkGetter, timeout func(timeouts.Value) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) *applying {
	var a applying
	diags.Append(planned.Get(ctx, &a.plan)...)
	if diags.HasError() {
		return nil
	}
	d, tdiags := timeout(a.plan.Timeouts)
	diags.Append(tdiags...)
	spec, sdiags := a.plan.spec(ctx)
	diags.Append(sdiags...)
	c, host, cdiags := r.client("qumulus_tenant." + a.plan.Name.ValueString())
	diags.Append(cdiags...)
	if diags.HasError() {
		return nil
	}
	a.spec, a.client, a.host = spec, c, host
	a.ctx, a.cancel = context.WithTimeout(ctx, d)
	return &a
}

type tfsdkGetter interface {
	Get(context.Context, any) diag.Diagnostics
}

func (r *tenantResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	a := r.prepare(ctx, req.Plan, func(t timeouts.Value) (time.Duration, diag.Diagnostics) {
		return t.Create(ctx, tenantCreateTimeout)
	}, &resp.Diagnostics)
	if a == nil {
		return
	}
	defer a.cancel()
	tflog.Debug(a.ctx, "creating tenant", map[string]any{"tenant": a.spec.Name, "namespace": a.spec.Namespace})
	created, err := a.client.Create(a.ctx, a.spec)
	if err != nil {
		addTenantError(&resp.Diagnostics, a.host, a.spec, "creating", err)
		if created {
			// The namespace exists: record the tenant so that Terraform taints it and the
			// next apply replaces it, instead of failing on the namespace.
			a.plan.setComputed(a.spec, statusActive)
			resp.Diagnostics.Append(resp.State.Set(ctx, &a.plan)...)
		}
		return
	}
	r.saveObserved(a, &resp.State, &resp.Diagnostics)
}

func (r *tenantResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	a := r.prepare(ctx, req.Plan, func(t timeouts.Value) (time.Duration, diag.Diagnostics) {
		return t.Update(ctx, tenantUpdateTimeout)
	}, &resp.Diagnostics)
	if a == nil {
		return
	}
	defer a.cancel()
	if err := a.client.Apply(a.ctx, a.spec); err != nil {
		addTenantError(&resp.Diagnostics, a.host, a.spec, "updating", err)
		return
	}
	r.saveObserved(a, &resp.State, &resp.Diagnostics)
}

// saveObserved reads back what was applied. The plan spells the values; what the API
// server changed (a quantity's spelling) keeps the plan's form.
func (r *tenantResource) saveObserved(a *applying, into interface {
	Set(context.Context, any) diag.Diagnostics
}, diags *diag.Diagnostics) {
	o, err := a.client.Observe(a.ctx, a.spec.Name, a.spec.Namespace)
	if err != nil {
		addTenantError(diags, a.host, a.spec, "reading back", err)
		return
	}
	state := a.plan
	diags.Append(state.fromObserved(a.ctx, o, a.plan)...)
	// The force_destroy and timeouts settings live only in Terraform.
	state.ForceDestroy, state.Timeouts = a.plan.ForceDestroy, a.plan.Timeouts
	diags.Append(into.Set(a.ctx, &state)...)
}

func (r *tenantResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tenantModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, host, diags := r.client("qumulus_tenant." + state.Name.ValueString())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	s := tenant.Spec{Name: state.Name.ValueString(), Namespace: state.Namespace.ValueString()}
	o, err := c.Observe(ctx, s.Name, s.Namespace)
	if errors.Is(err, tenant.ErrNotFound) {
		tflog.Warn(ctx, "tenant namespace is gone; removing the tenant from state", map[string]any{"tenant": s.Name, "namespace": s.Namespace})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addTenantError(&resp.Diagnostics, host, s, "reading", err)
		return
	}
	next := state
	resp.Diagnostics.Append(next.fromObserved(ctx, o, state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *tenantResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tenantModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, tenantDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	c, host, diags := r.client("qumulus_tenant." + state.Name.ValueString())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s := tenant.Spec{Name: state.Name.ValueString(), Namespace: state.Namespace.ValueString()}
	err := c.Delete(ctx, s.Name, s.Namespace, state.ForceDestroy.ValueBool())
	switch {
	case errors.Is(err, tenant.ErrNotOwned):
		resp.Diagnostics.AddWarning("Namespace Left Alone",
			fmt.Sprintf("Namespace %s no longer carries the labels of tenant %q (it was deleted and made again by someone "+
				"else, or relabelled), so destroying the tenant did not delete it.", s.Namespace, s.Name))
	case err != nil:
		addTenantError(&resp.Diagnostics, host, s, "deleting", err)
	}
}

func (r *tenantResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := req.ID
	validateString(ctx, validators.DNS1123Label(), path.Root("name"), types.StringValue(name), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		resp.Diagnostics.AddError("Invalid Import ID", "Import a tenant by its name, e.g. `terraform import qumulus_tenant.acme acme`.")
		return
	}
	c, host, diags := r.client("qumulus_tenant import")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	namespace, err := c.Find(ctx, name)
	if errors.Is(err, tenant.ErrNotFound) {
		resp.Diagnostics.AddError("Tenant Not Found",
			fmt.Sprintf("No namespace in the management cluster at %s carries the labels %s, so there is no tenant %q to import. "+
				"Check the name (the tenant's name, not its namespace).", host, kube.OwnershipSelector(name), name))
		return
	}
	if err != nil {
		addTenantError(&resp.Diagnostics, host, tenant.Spec{Name: name}, "importing", err)
		return
	}
	for attr, v := range map[string]any{
		"id": name, "name": name, "namespace": namespace, "force_destroy": false,
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

// addTenantError turns an error of the tenant package into a diagnostic that names the
// tenant and what the user can do.
func addTenantError(diags *diag.Diagnostics, host string, s tenant.Spec, action string, err error) {
	var (
		taken     *tenant.NameTakenError
		exists    *tenant.NamespaceExistsError
		busy      *tenant.HasClustersError
		stuck     *tenant.StuckError
		objErr    *tenant.ObjectError
		ambiguous *tenant.AmbiguousError
		subject   = fmt.Sprintf("tenant %q (namespace %s)", s.Name, s.Namespace)
	)
	switch {
	case errors.As(err, &taken):
		diags.AddError("Tenant Already Exists",
			fmt.Sprintf("A tenant named %q already exists in namespace %s. Import it (`terraform import <address> %s`) or choose another name.\n\n%s",
				taken.Name, taken.Namespace, taken.Name, err))
	case errors.As(err, &ambiguous):
		diags.AddError("Tenant Claimed By Several Namespaces",
			fmt.Sprintf("Namespaces %s all carry the label %s=%s. Remove it from every namespace but the tenant's own.\n\n%s",
				strings.Join(ambiguous.Namespaces, ", "), kube.LabelTenant, ambiguous.Name, err))
	case errors.As(err, &exists):
		hint := fmt.Sprintf("Choose another namespace. If it is this tenant's namespace and lost its labels, label it %s and import "+
			"the tenant (`terraform import <address> %s`); do not delete it before checking what it holds.",
			kube.OwnershipSelector(s.Name), s.Name)
		if exists.Tenant != "" {
			hint = fmt.Sprintf("It was created for tenant %q: import that tenant (`terraform import <address> %s`) instead of creating it again.", exists.Tenant, exists.Tenant)
		}
		diags.AddAttributeError(path.Root("namespace"), "Namespace Already Exists",
			fmt.Sprintf("Cannot create %s: a tenant only takes a namespace it creates itself. %s\n\n%s", subject, hint, err))
	case errors.As(err, &busy):
		diags.AddError("Tenant Still Has Clusters",
			fmt.Sprintf("Destroying %s would delete its namespace and with it %s. Destroy those clusters first, or set "+
				"force_destroy = true on the tenant, apply, and destroy again to delete them with it.\n\n%s",
				subject, strings.Join(busy.Clusters, ", "), err))
	case errors.As(err, &stuck):
		diags.AddError("Tenant Namespace Not Deleted In Time",
			fmt.Sprintf("The namespace of %s was deleted but is still there. Whatever holds it must finish first: objects with "+
				"finalizers wait for their controllers (Kamaji for TenantControlPlanes, Cluster API for Clusters). Check those "+
				"controllers, or raise timeouts.delete, and destroy again.\n\n%s", subject, err))
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Tenant Timed Out",
			fmt.Sprintf("%s %s did not finish in time. Raise the matching timeouts value or check the API server at %s.\n\n%s",
				strings.ToUpper(action[:1])+action[1:], subject, host, err))
	case errors.As(err, &objErr):
		addAPIError(diags, host, fmt.Sprintf("%s %s of %s", objErr.Action, objErr.Object, subject), objErr.Err)
	default:
		addAPIError(diags, host, action+" "+subject, err)
	}
}
