package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var (
	_ resource.ResourceWithConfigure      = (*clusterResource)(nil)
	_ resource.ResourceWithImportState    = (*clusterResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*clusterResource)(nil)
	_ resource.ResourceWithValidateConfig = (*clusterResource)(nil)
)

const (
	clusterCreateTimeout = 20 * time.Minute
	clusterUpdateTimeout = 20 * time.Minute
	clusterDeleteTimeout = 10 * time.Minute
)

var kindPattern = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)

// modeSwitched asks for replacement when cluster_api is added or removed.
func modeSwitched(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace = req.StateValue.IsNull() != req.PlanValue.IsNull()
}

// NewClusterResource is qumulus_cluster.
func NewClusterResource() resource.Resource {
	return &clusterResource{}
}

type clusterResource struct {
	data *providerData
}

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (r *clusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = clusterSchema(ctx)
}

func (r *clusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		r.data = data
	}
}

// ValidateConfig mirrors the rules of Kamaji's CRDs that span several attributes.
func (r *clusterResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m clusterModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var n networkModel
	if objectAs(ctx, m.Network, &n, &resp.Diagnostics) {
		if !n.ServiceType.IsNull() && !n.ServiceType.IsUnknown() && n.ServiceType.ValueString() != "LoadBalancer" {
			for attr, v := range map[string]bool{
				"load_balancer_class":         !n.LoadBalancerClass.IsNull(),
				"load_balancer_source_ranges": !n.LoadBalancerSourceRanges.IsNull(),
			} {
				if v {
					resp.Diagnostics.AddAttributeError(path.Root("network").AtName(attr), "Needs A LoadBalancer Service",
						fmt.Sprintf("network.%s only applies to service_type = \"LoadBalancer\", not %q. Remove it or change service_type.",
							attr, n.ServiceType.ValueString()))
				}
			}
		}
		for _, attr := range []string{"service_cidrs", "pod_cidrs"} {
			l := n.ServiceCIDRs
			if attr == "pod_cidrs" {
				l = n.PodCIDRs
			}
			if !isKnown(ctx, l) || l.IsNull() {
				continue
			}
			var cidrs []string
			resp.Diagnostics.Append(l.ElementsAs(ctx, &cidrs, false)...)
			if len(cidrs) == 2 {
				a, errA := netip.ParsePrefix(cidrs[0])
				b, errB := netip.ParsePrefix(cidrs[1])
				if errA == nil && errB == nil && a.Addr().Is4() == b.Addr().Is4() {
					resp.Diagnostics.AddAttributeError(path.Root("network").AtName(attr), "Two Networks Of One IP Family",
						fmt.Sprintf("network.%s has two entries, %s and %s, of the same IP family. Give one network, or one IPv4 and "+
							"one IPv6 network for dual-stack.", attr, cidrs[0], cidrs[1]))
				}
			}
		}
	}
	var kl kubeletModel
	if objectAs(ctx, m.Kubelet, &kl, &resp.Diagnostics) && isKnown(ctx, kl.ConfigPatches) && !kl.ConfigPatches.IsNull() {
		var patches []patchModel
		resp.Diagnostics.Append(kl.ConfigPatches.ElementsAs(ctx, &patches, false)...)
		for i, p := range patches {
			at := path.Root("kubelet").AtName("config_patches").AtListIndex(i)
			op := p.Op.ValueString()
			needsValue := op == "add" || op == "replace" || op == "test"
			needsFrom := op == "move" || op == "copy"
			switch {
			case p.Op.IsUnknown():
			case needsValue && p.Value.IsNull():
				resp.Diagnostics.AddAttributeError(at.AtName("value"), "Patch Needs A Value",
					fmt.Sprintf("A %q patch needs value, JSON-encoded, e.g. value = jsonencode(\"systemd\").", op))
			case !needsValue && !p.Value.IsNull():
				resp.Diagnostics.AddAttributeError(at.AtName("value"), "Patch Takes No Value", fmt.Sprintf("A %q patch takes no value: remove it.", op))
			case needsFrom && p.From.IsNull():
				resp.Diagnostics.AddAttributeError(at.AtName("from"), "Patch Needs From", fmt.Sprintf("A %q patch needs from, the JSON pointer to take the value from.", op))
			case !needsFrom && !p.From.IsNull():
				resp.Diagnostics.AddAttributeError(at.AtName("from"), "Patch Takes No From", fmt.Sprintf("A %q patch takes no from: remove it.", op))
			}
			if !p.Value.IsNull() && !p.Value.IsUnknown() && strings.TrimSpace(p.Value.ValueString()) == "null" {
				resp.Diagnostics.AddAttributeError(at.AtName("value"), "Patch Value Is Null",
					"A JSON null value is dropped by the API server; to delete a field use op = \"remove\".")
			}
			if !p.Value.IsNull() && !p.Value.IsUnknown() && !json.Valid([]byte(p.Value.ValueString())) {
				resp.Diagnostics.AddAttributeError(at.AtName("value"), "Patch Value Is Not JSON",
					fmt.Sprintf("%q is not JSON. Write the value with jsonencode(), e.g. value = jsonencode(\"systemd\").", p.Value.ValueString()))
			}
		}
	}
}

// ModifyPlan checks version changes against the state as Kamaji's webhook does, and fills
// in the outputs that are known before apply.
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *clusterModel
	if !req.State.Raw.IsNull() {
		state = &clusterModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	to, toErr := cluster.ParseVersion(plan.Version.ValueString())
	replacing := state != nil && r.replaces(ctx, req)
	if state != nil && !replacing && isKnown(ctx, plan.Version) && toErr == nil && !state.Version.IsNull() {
		from, err := cluster.ParseVersion(state.Version.ValueString())
		if err == nil && !from.EqualTo(to) {
			if err := cluster.CheckUpgrade(from, to); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("version"), "Unsupported Version Change",
					fmt.Sprintf("Cluster %s: %s. Kamaji's webhook refuses this change; set version to a supported next step "+
						"and apply, then continue.", state.ID.ValueString(), err))
				return
			}
		}
	}
	if state != nil && req.Plan.Raw.Equal(req.State.Raw) {
		return
	}

	// With wait_for_ready the apply only returns once the control plane is Ready at the
	// requested version, so both are known now (a sleeping control plane is not Ready).
	// replicas must be known (or left to the server's default, which is not 0): a control
	// plane scaled to zero sleeps.
	var configReplicas types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("replicas"), &configReplicas)...)
	replicasKnown := configReplicas.IsNull() || !configReplicas.IsUnknown() && configReplicas.ValueInt64() != 0
	if plan.WaitForReady.ValueBool() && !plan.WaitForReady.IsUnknown() && toErr == nil && isKnown(ctx, plan.Version) && replicasKnown {
		plan.Status = types.StringValue("Ready")
		plan.InstalledVersion = types.StringValue("v" + to.String())
	}
	if state != nil && !replacing {
		// The endpoint only changes with the exposure of the API server: keep it while
		// nothing of the network changes.
		if plan.Network.Equal(state.Network) && state.Endpoint.ValueString() != "" {
			plan.Endpoint = state.Endpoint
		}
		if state.KubeconfigSecretName.ValueString() != "" {
			plan.KubeconfigSecretName = state.KubeconfigSecretName
		}
		if state.CACertificate.ValueString() != "" {
			plan.CACertificate = state.CACertificate
		}
	}
	// The ID is unknown until the cluster exists and whenever the way to reach it may
	// change, so that what refers to it (the qumulus_kubeconfig data source, above all) is
	// read after the apply rather than at plan time, when it would see the old cluster.
	if state == nil || plan.Endpoint.IsUnknown() {
		plan.ID = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// replaces reports whether the plan replaces the cluster (or may: unknown values count),
// which the attributes' plan modifiers decide but do not tell ModifyPlan.
func (r *clusterResource) replaces(ctx context.Context, req resource.ModifyPlanRequest) bool {
	for _, p := range []path.Path{
		path.Root("namespace"), path.Root("name"), path.Root("data_store_schema"), path.Root("data_store_username"),
		path.Root("network").AtName("cluster_domain"), path.Root("network").AtName("service_cidrs"),
		path.Root("network").AtName("pod_cidrs"), path.Root("network").AtName("load_balancer_class"),
		path.Root("cluster_api"),
	} {
		var planned, prior attr.Value
		if d := req.Plan.GetAttribute(ctx, p, &planned); d.HasError() {
			return true
		}
		if d := req.State.GetAttribute(ctx, p, &prior); d.HasError() {
			return true
		}
		if planned == nil || prior == nil {
			if planned != prior {
				return true
			}
			continue
		}
		if !isKnown(ctx, planned) || !planned.Equal(prior) {
			return true
		}
	}
	return false
}

func (r *clusterResource) client(subject string) (*cluster.Client, string, diag.Diagnostics) {
	clients, diags := r.data.managementClients(subject)
	if diags.HasError() {
		return nil, "", diags
	}
	return &cluster.Client{Kube: clients.Kubernetes, Dynamic: clients.Dynamic}, clients.REST.Host, nil
}

type clusterApplying struct {
	plan    clusterModel
	spec    cluster.Spec
	client  *cluster.Client
	host    string
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
}

func (r *clusterResource) prepare(ctx context.Context, planned tfsdkGetter, timeout func(timeouts.Value) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) *clusterApplying {
	var a clusterApplying
	diags.Append(planned.Get(ctx, &a.plan)...)
	if diags.HasError() {
		return nil
	}
	d, tdiags := timeout(a.plan.Timeouts)
	diags.Append(tdiags...)
	spec, sdiags := a.plan.spec(ctx)
	diags.Append(sdiags...)
	c, host, cdiags := r.client("qumulus_cluster." + a.plan.Name.ValueString())
	diags.Append(cdiags...)
	if diags.HasError() {
		return nil
	}
	a.spec, a.client, a.host, a.timeout = spec, c, host, d
	a.ctx, a.cancel = context.WithTimeout(ctx, d)
	if err := c.Prepare(a.ctx, &a.spec); err != nil {
		addClusterError(diags, host, a.spec, "preparing", d, err)
		a.cancel()
		return nil
	}
	return &a
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	a := r.prepare(ctx, req.Plan, func(t timeouts.Value) (time.Duration, diag.Diagnostics) {
		return t.Create(ctx, clusterCreateTimeout)
	}, &resp.Diagnostics)
	if a == nil {
		return
	}
	defer a.cancel()
	if err := a.client.CheckFree(a.ctx, a.spec); err != nil {
		addClusterError(&resp.Diagnostics, a.host, a.spec, "creating", a.timeout, err)
		return
	}
	tflog.Info(a.ctx, "creating cluster", map[string]any{"cluster": a.spec.Namespace + "/" + a.spec.Name, "cluster_api": a.spec.ClusterAPI != nil})
	if applied, err := a.client.Apply(a.ctx, a.spec); err != nil {
		addClusterError(&resp.Diagnostics, a.host, a.spec, "creating", a.timeout, err)
		if applied == 0 {
			return
		}
		// In Cluster API mode the KamajiControlPlane may have been made before the Cluster
		// failed: remove it, so that the next apply does not find it in its way.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := a.client.Delete(cleanup, a.spec.Key()); err != nil {
			resp.Diagnostics.AddWarning("Partly Created Cluster Left Behind",
				fmt.Sprintf("Creating cluster %s/%s failed, and removing what was already made failed too; delete it by hand "+
					"before applying again.\n\n%s", a.spec.Namespace, a.spec.Name, err))
		}
		return
	}
	r.waitAndSave(ctx, a, "creating", &resp.State, &resp.Diagnostics)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	a := r.prepare(ctx, req.Plan, func(t timeouts.Value) (time.Duration, diag.Diagnostics) {
		return t.Update(ctx, clusterUpdateTimeout)
	}, &resp.Diagnostics)
	if a == nil {
		return
	}
	defer a.cancel()
	tflog.Info(a.ctx, "updating cluster", map[string]any{"cluster": a.spec.Namespace + "/" + a.spec.Name, "version": a.spec.Version})
	if _, err := a.client.Apply(a.ctx, a.spec); err != nil {
		addClusterError(&resp.Diagnostics, a.host, a.spec, "updating", a.timeout, err)
		return
	}
	r.waitAndSave(ctx, a, "updating", &resp.State, &resp.Diagnostics)
}

type stateSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// waitAndSave waits for readiness (unless wait_for_ready is false) and saves what the
// cluster looks like. A cluster that did not become ready is still saved: its objects exist.
func (r *clusterResource) waitAndSave(ctx context.Context, a *clusterApplying, action string, into stateSetter, diags *diag.Diagnostics) {
	if !a.plan.WaitForReady.ValueBool() {
		r.saveObserved(ctx, a, nil, into, diags)
		return
	}
	name := a.spec.Namespace + "/" + a.spec.Name
	started := time.Now()
	status, err := a.client.WaitReady(a.ctx, a.spec, func(s cluster.Status) {
		tflog.Info(a.ctx, "waiting for the control plane", map[string]any{
			"cluster": name, "status": s.Phase, "installed_version": s.InstalledVersion,
			"detail": s.Describe(a.spec), "elapsed": time.Since(started).Round(time.Second).String(),
		})
	})
	if err != nil {
		addClusterError(diags, a.host, a.spec, action, a.timeout, err)
		r.saveObserved(ctx, a, nil, into, diags)
		return
	}
	tflog.Info(a.ctx, "control plane ready", map[string]any{"cluster": name, "version": status.InstalledVersion, "elapsed": time.Since(started).Round(time.Second).String()})
	r.saveObserved(ctx, a, &status, into, diags)
}

// saveObserved reads the cluster back into state. ready, when the wait succeeded, is the
// status that satisfied it.
func (r *clusterResource) saveObserved(ctx context.Context, a *clusterApplying, ready *cluster.Status, into stateSetter, diags *diag.Diagnostics) {
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	o, err := a.client.Observe(readCtx, a.spec.Key())
	if errors.Is(err, cluster.ErrNotFound) {
		return
	}
	if err != nil {
		if !diags.HasError() {
			addClusterError(diags, a.host, a.spec, "reading", a.timeout, err)
		}
		return
	}
	if ready != nil {
		o.Status = *ready
	}
	next := a.plan
	diags.Append(next.fromObserved(ctx, o, a.plan)...)
	diags.Append(into.Set(ctx, &next)...)
}

func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, host, diags := r.client("qumulus_cluster." + state.Name.ValueString())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	key := cluster.Key{Namespace: state.Namespace.ValueString(), Name: state.Name.ValueString(), ClusterAPI: !state.ClusterAPI.IsNull()}
	o, err := c.Observe(ctx, key)
	if errors.Is(err, cluster.ErrNotFound) {
		tflog.Warn(ctx, "cluster is gone; removing it from state", map[string]any{"cluster": key.Namespace + "/" + key.Name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addClusterError(&resp.Diagnostics, host, cluster.Spec{Namespace: key.Namespace, Name: key.Name}, "reading", 0, err)
		return
	}
	next := state
	resp.Diagnostics.Append(next.fromObserved(ctx, o, state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *clusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, clusterDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	c, host, diags := r.client("qumulus_cluster." + state.Name.ValueString())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := cluster.Key{Namespace: state.Namespace.ValueString(), Name: state.Name.ValueString(), ClusterAPI: !state.ClusterAPI.IsNull()}
	tflog.Info(ctx, "deleting cluster", map[string]any{"cluster": key.Namespace + "/" + key.Name})
	if err := c.Delete(ctx, key); err != nil {
		addClusterError(&resp.Diagnostics, host, cluster.Spec{Namespace: key.Namespace, Name: key.Name}, "deleting", timeout, err)
	}
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	namespace, name, ok := strings.Cut(req.ID, "/")
	validateString(ctx, validators.DNS1123Label(), path.Root("namespace"), types.StringValue(namespace), &resp.Diagnostics)
	validateString(ctx, validators.DNS1035Label(), path.Root("name"), types.StringValue(name), &resp.Diagnostics)
	if !ok || resp.Diagnostics.HasError() {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("Import a cluster as <namespace>/<name>, e.g. `terraform import qumulus_cluster.prod tenant-acme/prod`; got %q.", req.ID))
		return
	}
	c, host, diags := r.client("qumulus_cluster import")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	clusterAPI, err := c.DetectMode(ctx, namespace, name)
	if errors.Is(err, cluster.ErrNotFound) {
		resp.Diagnostics.AddError("Cluster Not Found",
			fmt.Sprintf("Neither a TenantControlPlane nor a Cluster API Cluster %s/%s exists in the management cluster at %s. "+
				"Check the namespace and the name.", namespace, name, host))
		return
	}
	if err != nil {
		addClusterError(&resp.Diagnostics, host, cluster.Spec{Namespace: namespace, Name: name}, "importing", 0, err)
		return
	}
	clusterAPIValue := types.ObjectNull(attrTypes("cluster_api"))
	if clusterAPI {
		clusterAPIValue = objectValue(ctx, attrTypes("cluster_api"), clusterAPIModel{
			InfrastructureRef: types.ObjectNull(attrTypes("cluster_api", "infrastructure_ref")),
		}, &resp.Diagnostics)
	}
	for attr, v := range map[string]any{
		"id": namespace + "/" + name, "namespace": namespace, "name": name, "wait_for_ready": true, "cluster_api": clusterAPIValue,
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

// addClusterError turns an error of the cluster package into a diagnostic that names the
// cluster and what to do.
func addClusterError(diags *diag.Diagnostics, host string, s cluster.Spec, action string, timeout time.Duration, err error) {
	var (
		missing     *cluster.NamespaceMissingError
		exists      *cluster.ExistsError
		unsupported *cluster.UnsupportedFieldError
		notReady    *cluster.NotReadyError
		stuck       *cluster.StuckError
		subject     = fmt.Sprintf("cluster %s/%s", s.Namespace, s.Name)
		inspect     = fmt.Sprintf("kubectl -n %s describe tenantcontrolplane %s", s.Namespace, s.Name)
	)
	switch {
	case errors.As(err, &missing):
		diags.AddAttributeError(path.Root("namespace"), "Tenant Namespace Not Found",
			fmt.Sprintf("Namespace %s does not exist in the management cluster at %s, so %s cannot be made in it. Create the "+
				"tenant first and refer to it (namespace = qumulus_tenant.<name>.namespace) so that Terraform orders the two.",
				missing.Namespace, host, subject))
	case errors.As(err, &exists):
		addExistsError(diags, "Cluster Already Exists", subject, exists, s.Namespace+"/"+s.Name)
	case errors.As(err, &unsupported):
		diags.AddError("Field Not Known To The Installed Kamaji",
			fmt.Sprintf("The management cluster at %s refused %s: the %s CRD installed there does not know a field the "+
				"configuration sets, so the installed Kamaji (or its Cluster API provider) is older than the field. Upgrade "+
				"Kamaji, or remove the attribute of the field named below.\n\n%s", host, subject, unsupported.Object, unsupported.Err))
	case errors.As(err, &notReady):
		next := "The cluster is saved as tainted: the next apply replaces it. To keep it and wait again instead, run " +
			"`terraform untaint <address>` and apply (raise timeouts.create if it needs longer)."
		if action != "creating" {
			next = "The configuration is applied and saved; the next plan will not wait again. Watch the control plane " +
				"until it is Ready (raise timeouts.update for next time), or set wait_for_ready = false."
		}
		if s.ClusterAPI != nil {
			inspect = fmt.Sprintf("kubectl -n %s describe cluster,kamajicontrolplane,tenantcontrolplane %s", s.Namespace, s.Name)
		}
		diags.AddError("Control Plane Not Ready In Time",
			fmt.Sprintf("%s was applied, but %s did not become Ready at %s within %s. Last seen: %s.\n\n"+
				"Inspect `%s`, the logs of Kamaji (and, in Cluster API mode, of its Cluster API provider and of Cluster API), "+
				"and the DataStore the control plane uses (`kubectl get datastores`). %s",
				strings.ToUpper(subject[:1])+subject[1:], notReady.Object, s.Version, timeout, notReady.Last.Describe(s), inspect, next))
	case errors.As(err, &stuck):
		diags.AddError("Cluster Not Deleted In Time",
			fmt.Sprintf("%s was deleted but is not gone after %s: %s.\n\nKamaji removes its finalizer from a TenantControlPlane only "+
				"once it has deleted the tenant's data from the DataStore: check that the DataStore is ready and Kamaji's logs "+
				"(`%s`). Then destroy again, or raise timeouts.delete.",
				strings.ToUpper(subject[:1])+subject[1:], timeout, strings.Join(stuck.Remaining, "; "), inspect))
	default:
		addTimeoutOrAPIError(diags, "Cluster Timed Out", host, subject, action, timeout, err)
	}
}

// addExistsError reports that creating subject found object (namespace/name) in the way.
func addExistsError(diags *diag.Diagnostics, title, subject string, exists *cluster.ExistsError, id string) {
	who := "It was not made by this provider"
	if exists.Managed {
		who = "It carries this provider's labels: it is probably in another Terraform state, or a state was lost"
	}
	diags.AddError(title,
		fmt.Sprintf("Cannot create %s: %s already exists. %s. Import it (`terraform import <address> %s`) or choose another name.",
			subject, exists.Object, who, id))
}

// addTimeoutOrAPIError reports what is left of an error of the cluster or workerpool
// package: a timeout of the whole action, or a failed call to the management cluster.
func addTimeoutOrAPIError(diags *diag.Diagnostics, timedOutTitle, host, subject, action string, timeout time.Duration, err error) {
	var objErr *cluster.ObjectError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError(timedOutTitle,
			fmt.Sprintf("%s %s did not finish within %s. Raise timeouts.%s or check the API server at %s.\n\n%s",
				strings.ToUpper(action[:1])+action[1:], subject, timeout, timeoutName(action), host, err))
	case errors.As(err, &objErr):
		addAPIError(diags, host, fmt.Sprintf("%s %s of %s", objErr.Action, objErr.Object, subject), objErr.Err)
	default:
		addAPIError(diags, host, action+" "+subject, err)
	}
}

func timeoutName(action string) string {
	switch action {
	case "creating":
		return "create"
	case "deleting":
		return "delete"
	}
	return "update"
}
