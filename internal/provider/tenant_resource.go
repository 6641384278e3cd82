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
	apiresource "k8s.io/apimachinery/pkg/api/resource"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var _ managedResource = (*tenantResource)(nil)

const (
	tenantCreateTimeout = 5 * time.Minute
	tenantUpdateTimeout = 5 * time.Minute
	tenantDeleteTimeout = 10 * time.Minute
)

// Values of status.
const (
	statusActive      = "Active"
	statusTerminating = "Terminating"
	statusUnlabelled  = "Unlabelled"
)

// NewTenantResource returns the qumulus_tenant resource.
func NewTenantResource() resource.Resource {
	return &tenantResource{lifecycle[tenantModel, *tenant.Client, struct{}]{
		kind: "tenant", noun: "tenant", schema: tenantSchema,
		create: tenantCreateTimeout, update: tenantUpdateTimeout, delete: tenantDeleteTimeout,
		newClient: func(c *kube.Clients) *tenant.Client {
			return &tenant.Client{Kube: c.Kubernetes, Dynamic: c.Dynamic, Discovery: c.Discovery}
		},
		timeouts: func(m *tenantModel) timeouts.Value { return m.Timeouts },
		id:       func(m *tenantModel) string { return m.Name.ValueString() },
		apply:    applyTenant,
		read:     readTenant,
		remove:   removeTenant,
		diagnose: addTenantError,
		unread: func(m *tenantModel) {
			if s, diags := m.spec(context.Background()); !diags.HasError() {
				m.setComputed(s, statusActive)
			}
		},
	}}
}

type tenantResource struct {
	lifecycle[tenantModel, *tenant.Client, struct{}]
}

// tenantSchema is the schema of qumulus_tenant, built once per provider process.
var tenantSchema = cachedSchema(buildTenantSchema)

func buildTenantSchema(ctx context.Context) schema.Schema {
	quantities := func(what string) schema.MapAttribute {
		return schema.MapAttribute{
			MarkdownDescription: what + " Keys are resources of containers (`cpu`, `memory`, `ephemeral-storage`, " +
				"`hugepages-<size>`, extended resources such as `example.com/gpu`), values quantities (`500m`, `1Gi`). `{}` is the same as leaving it out.",
			ElementType: types.StringType,
			Optional:    true,
			Validators: []validator.Map{
				mapvalidator.KeysAre(validators.ContainerResourceName()),
				mapvalidator.ValueStringsAre(validators.Quantity()),
			},
		}
	}
	return schema.Schema{
		MarkdownDescription: "A tenant's isolated home in the management cluster: a namespace of its own, RoleBindings " +
			"that give its members access to their own clusters and kubeconfig Secrets and nothing of other tenants, " +
			"NetworkPolicies that keep other tenants' traffic out, and optional quota and container defaults. " +
			"Every object it creates carries the labels `" + kube.LabelManagedBy + "=" + kube.ManagedBy + "` and `" +
			kube.LabelTenant + "=<name>`.\n\n" +
			"Destroying a tenant deletes its namespace and so every cluster in it. While the namespace holds " +
			"TenantControlPlanes or Cluster API Clusters, destroy is refused unless `force_destroy` is `true` " +
			"(apply that first, then destroy); destroy then waits for the namespace to be gone.\n\n" +
			"**Drift.** A deleted or edited Role, RoleBinding, NetworkPolicy, ResourceQuota or LimitRange, a removed label " +
			"or a deleted namespace shows in the next plan and the apply writes it back as configured (a rule added to " +
			"a NetworkPolicy is removed). Labels, annotations and quota keys that others add are theirs and left alone: " +
			"the provider owns only the keys it applied.\n\n" +
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
					"` (the number of clusters). Keys are resource names a ResourceQuota accepts, values quantities (whole numbers for " +
					"counted resources such as `pods`). Without it, or with `quota = {}`, the tenant has no quota. Updated in place.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(validators.QuotaResourceName()),
					mapvalidator.ValueStringsAre(validators.Quantity()),
				},
			},
			"limit_range": schema.SingleNestedAttribute{
				MarkdownDescription: "Container defaults and bounds of the LimitRange `" + tenant.LimitRangeName + "`. Without it the " +
					"tenant has no LimitRange. Kubernetes' rules are checked at plan, so that the namespace is never created with " +
					"a LimitRange the API server refuses: for each resource `min` <= `default_request` <= `default` <= `max`, " +
					"`max_limit_request_ratio` at least 1 and at most `max`/`min`, and `default_request` = `default` for resources " +
					"that cannot be overcommitted (hugepages, extended resources). Updated in place.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"default":                 quantities("Limits of containers that set none."),
					"default_request":         quantities("Requests of containers that set none."),
					"max":                     quantities("Largest limits a container may have."),
					"min":                     quantities("Smallest requests a container may have."),
					"max_limit_request_ratio": quantities("Largest ratio of a container's limit to its request, e.g. `{ cpu = \"4\" }`."),
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

// ValidateConfig checks what the API server would refuse at apply, after the namespace
// was created (the rules live in the tenant package): a LimitRange's order of min,
// default_request, default and max, quantities of counted resources, and each member
// identity listed once.
func (r *tenantResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	m, ok := r.configModel(ctx, req.Config, &resp.Diagnostics)
	if !ok {
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
	validateQuantities(ctx, path.Root("quota"), m.Quota, &resp.Diagnostics)
	validateLimitRange(ctx, m.LimitRange, &resp.Diagnostics)
	validateMembers(ctx, m, &resp.Diagnostics)
}

// limitAttributes are the attributes of limit_range for the fields of tenant.Limits.
var limitAttributes = map[tenant.LimitField]string{
	tenant.FieldMin: "min", tenant.FieldDefaultRequest: "default_request", tenant.FieldDefault: "default",
	tenant.FieldMax: "max", tenant.FieldMaxRatio: "max_limit_request_ratio",
}

// validateQuantities refuses fractions of resources counted in whole units. Keys and
// quantities that do not parse or are negative are the attribute validators' to report.
func validateQuantities(ctx context.Context, at path.Path, m types.Map, diags *diag.Diagnostics) {
	if !isKnown(ctx, m) || m.IsNull() {
		return
	}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() || s.IsNull() {
			continue
		}
		if q, err := apiresource.ParseQuantity(s.ValueString()); err == nil && q.Sign() >= 0 {
			if err := tenant.CheckQuantity(k, q); err != nil {
				diags.AddAttributeError(at.AtMapKey(k), "Invalid Quantity", fmt.Sprintf("%s: %s.", at.AtMapKey(k), capitalize(err.Error())))
			}
		}
	}
}

// validateLimitRange refuses what Kubernetes' LimitRange validation refuses, naming both
// attributes of a broken order.
func validateLimitRange(ctx context.Context, o types.Object, diags *diag.Diagnostics) {
	if !isKnown(ctx, o) || o.IsNull() {
		return
	}
	var l limitRangeModel
	if !objectAs(ctx, o, &l, diags) {
		return
	}
	at := path.Root("limit_range")
	limits := &tenant.Limits{}
	known := true
	for field, m := range map[tenant.LimitField]types.Map{
		tenant.FieldMin: l.Min, tenant.FieldDefaultRequest: l.DefaultRequest, tenant.FieldDefault: l.Default,
		tenant.FieldMax: l.Max, tenant.FieldMaxRatio: l.MaxRatio,
	} {
		validateQuantities(ctx, at.AtName(limitAttributes[field]), m, diags)
		if !isKnown(ctx, m) {
			known = false
			continue
		}
		var parsed map[string]apiresource.Quantity
		for k, v := range m.Elements() {
			s, ok := v.(types.String)
			if !ok || s.IsNull() {
				continue
			}
			q, err := apiresource.ParseQuantity(s.ValueString())
			if err != nil {
				continue
			}
			if parsed == nil {
				parsed = map[string]apiresource.Quantity{}
			}
			parsed[k] = q
		}
		switch field {
		case tenant.FieldMin:
			limits.Min = parsed
		case tenant.FieldDefaultRequest:
			limits.DefaultRequest = parsed
		case tenant.FieldDefault:
			limits.Default = parsed
		case tenant.FieldMax:
			limits.Max = parsed
		default:
			limits.MaxLimitRequestRatio = parsed
		}
	}
	if !known {
		return
	}
	for _, e := range tenant.CheckLimits(limits) {
		field := at.AtName(limitAttributes[e.Field]).AtMapKey(e.Resource)
		detail := fmt.Sprintf("limit_range.%s[%q] %s %s", limitAttributes[e.Field], e.Resource, e.Value.String(), e.Rule)
		if e.Other != "" {
			detail += fmt.Sprintf(" limit_range.%s[%q] %s", limitAttributes[e.Other], e.Resource, e.OtherValue.String())
		}
		diags.AddAttributeError(field, "Invalid Limit Range", detail+". Kubernetes would refuse this LimitRange after creating the "+
			"tenant's namespace: correct the values so that for each resource min <= default_request <= default <= max.")
	}
}

// validateMembers refuses member entries that name one identity twice: under two roles, or
// a ServiceAccount with and without the tenant's namespace written out. Members of other
// kinds must not have a namespace, and ServiceAccount names are DNS subdomains.
func validateMembers(ctx context.Context, m tenantModel, diags *diag.Diagnostics) {
	if m.Members.IsUnknown() || m.Members.IsNull() {
		return
	}
	var members []memberModel
	diags.Append(m.Members.ElementsAs(ctx, &members, false)...)
	at := path.Root("members")
	var known []tenant.Member
	var entries []memberModel
	for _, mm := range members {
		if mm.Kind.IsUnknown() {
			continue
		}
		switch mm.Kind.ValueString() {
		case tenant.KindServiceAccount:
			if !mm.Name.IsUnknown() {
				validateString(ctx, validators.DNS1123Subdomain(), at, mm.Name, diags)
			}
		default:
			if !mm.Namespace.IsNull() {
				diags.AddAttributeError(at, "Namespace Only For Service Accounts",
					fmt.Sprintf("Member %s %q has a namespace, but only ServiceAccount members have one. Remove namespace.",
						mm.Kind.ValueString(), mm.Name.ValueString()))
			}
		}
		if mm.Name.IsUnknown() || mm.Namespace.IsUnknown() || mm.Role.IsUnknown() {
			continue
		}
		known = append(known, tenant.Member{Kind: mm.Kind.ValueString(), Name: mm.Name.ValueString(), Namespace: mm.Namespace.ValueString(), Role: mm.Role.ValueString()})
		entries = append(entries, mm)
	}
	if m.Namespace.IsUnknown() || m.Name.IsUnknown() {
		return
	}
	tenantNamespace := m.Namespace.ValueString()
	if m.Namespace.IsNull() {
		tenantNamespace = tenant.DefaultNamespace(m.Name.ValueString())
	}
	for _, c := range tenant.CheckMembers(known, tenantNamespace) {
		first, second := known[c.First], known[c.Second]
		elem, d := types.ObjectValueFrom(ctx, memberAttrTypes, entries[c.Second])
		diags.Append(d...)
		if first.Role != second.Role {
			diags.AddAttributeError(at.AtSetValue(elem), "Member Listed Under Two Roles",
				fmt.Sprintf("%s is listed under two roles: %s and %s. RBAC grants the union of both, so the weaker role would "+
					"mean nothing. List the identity once, with the role it should have.", first.Identity(tenantNamespace),
					memberEntry(entries[c.First]), memberEntry(entries[c.Second])))
			continue
		}
		diags.AddAttributeError(at.AtSetValue(elem), "Duplicate Member",
			fmt.Sprintf("%s is listed twice with role %s: %s and %s (once with the tenant's namespace written out, once without). Keep one.",
				first.Identity(tenantNamespace), first.Role, memberEntry(entries[c.First]), memberEntry(entries[c.Second])))
	}
}

// memberEntry writes a member as it appears in the configuration.
func memberEntry(m memberModel) string {
	s := fmt.Sprintf("{ kind = %q, name = %q", m.Kind.ValueString(), m.Name.ValueString())
	if !m.Namespace.IsNull() {
		s += fmt.Sprintf(", namespace = %q", m.Namespace.ValueString())
	}
	return s + fmt.Sprintf(", role = %q }", m.Role.ValueString())
}

// ModifyPlan plans the default namespace, the status and the names of the objects, then
// has the management cluster check the planned objects (see dryRunPlan).
func (r *tenantResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	plan, config, state, ok := r.planAndState(ctx, req, &resp.Diagnostics)
	if !ok {
		return
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
	resp.Diagnostics.Append(r.setModel(ctx, &resp.Plan, &plan)...)
	r.dryRunPlan(ctx, req, resp, &plan, tenantFields, dryRunOf(plan.spec, nil, (*tenant.Client).DryRun))
}

// applyTenant creates the tenant (its namespace first, never taking over one that
// exists) or updates it.
func applyTenant(o *op[tenantModel, *tenant.Client, struct{}], prior *tenantModel) bool {
	spec, diags := o.plan.spec(o.ctx)
	o.diags.Append(diags...)
	if o.diags.HasError() {
		return false
	}
	if prior == nil {
		created, err := o.client.Create(o.ctx, spec)
		if err != nil {
			// A namespace that was made is saved, so that Terraform taints the tenant and
			// the next apply replaces it instead of failing on the namespace.
			o.fail(err)
		}
		return created
	}
	if err := o.client.Apply(o.ctx, spec); err != nil {
		o.fail(err)
		return false
	}
	return true
}

// readTenant reads the tenant back into m. What the API server spells differently (a
// quantity) keeps m's spelling; force_destroy and the timeouts live only in Terraform.
func readTenant(ctx context.Context, c *tenant.Client, m *tenantModel, _ *struct{}, diags *diag.Diagnostics) error {
	o, err := c.Observe(ctx, m.Name.ValueString(), m.Namespace.ValueString())
	if err != nil {
		return err
	}
	forceDestroy, t := m.ForceDestroy, m.Timeouts
	diags.Append(m.fromObserved(ctx, o, *m)...)
	m.ForceDestroy, m.Timeouts = forceDestroy, t
	return nil
}

func removeTenant(ctx context.Context, c *tenant.Client, state *tenantModel, diags *diag.Diagnostics) error {
	name, namespace := state.Name.ValueString(), state.Namespace.ValueString()
	err := c.Delete(ctx, name, namespace, state.ForceDestroy.ValueBool())
	if errors.Is(err, tenant.ErrNotOwned) {
		diags.AddWarning("Namespace Left Alone",
			fmt.Sprintf("Namespace %s no longer carries the labels of tenant %q (it was deleted and made again by someone "+
				"else, or relabelled), so destroying the tenant did not delete it.", namespace, name))
		return nil
	}
	return err
}

func (r *tenantResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := req.ID
	validateString(ctx, validators.DNS1123Label(), path.Root("name"), types.StringValue(name), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		resp.Diagnostics.AddError("Invalid Import ID", "Import a tenant by its name, e.g. `terraform import qumulus_tenant.acme acme`.")
		return
	}
	m := tenantModel{Name: types.StringValue(name)}
	c, host, diags := r.client(&m)
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
		addTenantError(&resp.Diagnostics, host, &m, "importing", 0, err)
		return
	}
	setImported(ctx, &resp.State, map[string]any{"id": name, "name": name, "namespace": namespace, "force_destroy": false}, &resp.Diagnostics)
}

// addTenantError turns an error of the tenant package into a diagnostic that names the
// tenant and what the user can do.
func addTenantError(diags *diag.Diagnostics, host string, m *tenantModel, action string, timeout time.Duration, err error) {
	var (
		name, namespace = m.Name.ValueString(), m.Namespace.ValueString()
		taken           *tenant.NameTakenError
		exists          *tenant.NamespaceExistsError
		busy            *tenant.HasClustersError
		ambiguous       *tenant.AmbiguousError
		subject         = fmt.Sprintf("tenant %q (namespace %s)", name, namespace)
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
			kube.OwnershipSelector(name), name)
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
	default:
		objectErrors{
			title: "Tenant", subject: subject, importID: name,
			stuck: func(e *kube.StuckError) (string, string) {
				return "Tenant Namespace Not Deleted In Time", fmt.Sprintf("The namespace of %s was deleted but is still there. "+
					"Whatever holds it must finish first: objects with finalizers wait for their controllers (Kamaji for "+
					"TenantControlPlanes, Cluster API for Clusters). Check those controllers, or raise timeouts.delete, and destroy "+
					"again.\n\n%s", subject, e)
			},
		}.add(diags, host, action, timeout, err)
	}
}
