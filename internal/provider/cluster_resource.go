package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var _ managedResource = (*clusterResource)(nil)

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
	return &clusterResource{lifecycle[clusterModel, *cluster.Client, cluster.Status]{
		kind: "cluster", noun: "cluster", schema: clusterSchema,
		create: clusterCreateTimeout, update: clusterUpdateTimeout, delete: clusterDeleteTimeout,
		newClient: func(c *kube.Clients) *cluster.Client {
			return &cluster.Client{Kube: c.Kubernetes, Dynamic: c.Dynamic, NamespaceTenant: c.NamespaceTenant}
		},
		timeouts: func(m *clusterModel) timeouts.Value { return m.Timeouts },
		id:       func(m *clusterModel) string { return namespacedID(m.Namespace, m.Name) },
		apply:    applyCluster,
		read:     readCluster,
		private:  func(m *clusterModel) any { return &m.CASource },
		remove: func(ctx context.Context, c *cluster.Client, state *clusterModel, _ *diag.Diagnostics) error {
			return c.Delete(ctx, clusterKey(state))
		},
		diagnose: addClusterError,
	}}
}

type clusterResource struct {
	lifecycle[clusterModel, *cluster.Client, cluster.Status]
}

// ValidateConfig mirrors the rules of Kamaji's CRDs, kubeadm and Kubernetes that span
// several attributes, on what the configuration sets (ModifyPlan adds the defaults).
func (r *clusterResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	m, ok := r.configModel(ctx, req.Config, &resp.Diagnostics)
	if !ok {
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
	}
	for _, p := range cluster.CheckNetwork(networkFacts(ctx, m, nil, &resp.Diagnostics)) {
		if !p.Assumed {
			addProblem(&resp.Diagnostics, p)
		}
	}
	var kl kubeletModel
	if objectAs(ctx, m.Kubelet, &kl, &resp.Diagnostics) && isKnown(ctx, kl.ConfigPatches) && !kl.ConfigPatches.IsNull() {
		var patches []patchModel
		resp.Diagnostics.Append(kl.ConfigPatches.ElementsAs(ctx, &patches, false)...)
		for i, p := range patches {
			at := path.Root("kubelet").AtName("config_patches").AtListIndex(i)
			var problems []cluster.PatchProblem
			if !p.Op.IsUnknown() {
				problems = cluster.CheckPatch(p.Op.ValueString(), presence(p.Value), presence(p.From))
			}
			if !p.Value.IsNull() && !p.Value.IsUnknown() {
				if pp := cluster.CheckPatchValue(p.Value.ValueString()); pp != nil {
					problems = append(problems, *pp)
				}
			}
			for _, pp := range problems {
				resp.Diagnostics.AddAttributeError(at.AtName(pp.Field), pp.Summary, at.AtName(pp.Field).String()+": "+pp.Detail)
			}
		}
	}
}

// ModifyPlan checks version changes against the state as Kamaji's webhook does, fills in
// the outputs that are known before apply, and has the management cluster check the
// planned objects (see dryRunPlan).
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	// A plan that changes nothing (every unchanged cluster of a plan) has no version
	// change to check and nothing to fill in.
	if !req.State.Raw.IsNull() && req.Plan.Raw.Equal(req.State.Raw) && !incomplete(ctx, req) {
		return
	}
	plan, config, state, ok := r.planAndState(ctx, req, &resp.Diagnostics)
	if !ok {
		return
	}
	to, toErr := kube.ParseVersion(plan.Version.ValueString())
	replacing := replacing(ctx, clusterSchema(ctx), req)
	// The network rules again, now with what the configuration leaves to Kamaji's defaults
	// or to the cluster's current settings; ValidateConfig reported the rest.
	current := &plan
	if state == nil || replacing {
		current = nil
	}
	for _, p := range cluster.CheckNetwork(networkFacts(ctx, config, &assumed{current}, &resp.Diagnostics)) {
		if p.Assumed {
			addProblem(&resp.Diagnostics, p)
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if state != nil && !replacing && isKnown(ctx, plan.Version) && toErr == nil && !state.Version.IsNull() {
		from, err := kube.ParseVersion(state.Version.ValueString())
		if err == nil && !from.EqualTo(to) {
			if err := cluster.CheckUpgrade(from, to); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("version"), "Unsupported Version Change",
					fmt.Sprintf("Cluster %s: %s. Kamaji's webhook refuses this change; set version to a supported next step "+
						"and apply, then continue.", state.ID.ValueString(), err))
				return
			}
		}
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
	rebuilt := state != nil && !replacing && state.Status.ValueString() == statusIncomplete
	if rebuilt {
		// The missing object is written again, and a KamajiControlPlane made anew makes a
		// new TenantControlPlane: a new endpoint, CA and kubeconfig Secret. Without a wait
		// the status is not known before the apply; it must not stay Incomplete, so the
		// plan shows the repair.
		plan.Endpoint, plan.CACertificate, plan.KubeconfigSecretName = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
		if plan.Status.Equal(state.Status) {
			plan.Status = types.StringUnknown()
		}
	}
	if state != nil && !replacing && !rebuilt {
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
	resp.Diagnostics.Append(r.setModel(ctx, &resp.Plan, &plan)...)
	r.dryRunPlan(ctx, req, resp, &plan, clusterFields, dryRunOf(plan.spec, (*cluster.Client).Prepare, (*cluster.Client).DryRun))
}

// incomplete reports whether the state says part of the cluster was deleted out of band:
// the plan then repairs it even though nothing else changes.
func incomplete(ctx context.Context, req resource.ModifyPlanRequest) bool {
	var status types.String
	req.State.GetAttribute(ctx, path.Root("status"), &status)
	return status.ValueString() == statusIncomplete
}

// assumed says where the network rules take what the configuration leaves unset: with
// plan nil (a new cluster) Kamaji's defaults, else the plan, which holds the cluster's
// current settings.
type assumed struct{ plan *clusterModel }

// networkFacts gathers the inputs of cluster.CheckNetwork from the configuration c and,
// when from is not nil, for what c leaves unset, from the cluster's current settings or
// Kamaji's defaults. Unknown values are left out (not checked).
func networkFacts(ctx context.Context, c clusterModel, from *assumed, diags *diag.Diagnostics) cluster.NetworkFacts {
	var f cluster.NetworkFacts
	var cn, pn networkModel
	if c.Network.IsUnknown() {
		return f
	}
	objectAs(ctx, c.Network, &cn, diags)
	if from != nil && from.plan != nil {
		objectAs(ctx, from.plan.Network, &pn, diags)
	}
	list := func(configured, current types.List, def, what string) ([]string, string) {
		switch {
		case !configured.IsNull():
			if isKnown(ctx, configured) {
				return listOf(ctx, configured, diags), ""
			}
		case from == nil:
		case from.plan == nil:
			if def != "" {
				return []string{def}, "Kamaji's default"
			}
		case isKnown(ctx, current) && !current.IsNull():
			return listOf(ctx, current, diags), "the cluster's current " + what
		}
		return nil, ""
	}
	f.ServiceCIDRs, f.ServiceCIDRsFrom = list(cn.ServiceCIDRs, pn.ServiceCIDRs, cluster.DefaultServiceCIDR, "Service networks")
	f.PodCIDRs, f.PodCIDRsFrom = list(cn.PodCIDRs, pn.PodCIDRs, cluster.DefaultPodCIDR, "pod networks")
	f.DNSServiceIPs, _ = list(cn.DNSServiceIPs, types.ListNull(types.StringType), "", "")
	f.AdvertiseAddress = cn.AdvertiseAddress.ValueString()
	switch {
	case !cn.Port.IsNull():
		f.Port = int64Ptr(cn.Port)
	case from == nil:
	case from.plan == nil:
		f.Port, f.PortFrom = ptrTo(int64(cluster.DefaultPort)), fmt.Sprintf("network.port's default, %d", cluster.DefaultPort)
	case !pn.Port.IsNull() && !pn.Port.IsUnknown():
		f.Port, f.PortFrom = int64Ptr(pn.Port), fmt.Sprintf("the cluster's current network.port, %d", pn.Port.ValueInt64())
	}
	var a addonsModel
	var k konnectivityModel
	if objectAs(ctx, c.Addons, &a, diags) && objectAs(ctx, a.Konnectivity, &k, diags) && !k.ServerPort.IsUnknown() {
		f.KonnectivityPort = ptrTo(int64(cluster.DefaultKonnectivityPort))
		if !k.ServerPort.IsNull() {
			f.KonnectivityPort = int64Ptr(k.ServerPort)
		}
	}
	var cm componentModel
	switch {
	case c.ControllerManager.IsNull():
		f.ControllerManagerArgsKnown = true
	case objectAs(ctx, c.ControllerManager, &cm, diags) && isKnown(ctx, cm.ExtraArgs):
		f.ControllerManagerArgs, f.ControllerManagerArgsKnown = listOf(ctx, cm.ExtraArgs, diags), true
	}
	if !c.Version.IsUnknown() {
		if v, err := kube.ParseVersion(c.Version.ValueString()); err == nil {
			f.Version = v
		}
	}
	return f
}

func ptrTo[T any](v T) *T { return &v }

// addProblem reports a problem of the cluster package on its attribute.
func addProblem(diags *diag.Diagnostics, p cluster.Problem) {
	at := path.Empty()
	for _, name := range strings.Split(p.Field, ".") {
		at = at.AtName(name)
	}
	if p.Index >= 0 {
		at = at.AtListIndex(p.Index)
	}
	diags.AddAttributeError(at, p.Summary, p.Detail)
}

func clusterKey(m *clusterModel) cluster.Key {
	return cluster.Key{Namespace: m.Namespace.ValueString(), Name: m.Name.ValueString(), ClusterAPI: !m.ClusterAPI.IsNull()}
}

// applyCluster writes the cluster's objects and waits for the control plane (unless
// wait_for_ready is false). A cluster that did not become ready is still saved: its
// objects exist.
func applyCluster(o *op[clusterModel, *cluster.Client, cluster.Status], prior *clusterModel) bool {
	spec, ok := prepared(o, prior == nil, o.plan.spec, o.client.Prepare, o.client.CheckFree)
	if !ok {
		return false
	}
	if applied, err := o.client.Apply(o.ctx, spec); err != nil {
		o.fail(err)
		if prior == nil && applied > 0 {
			// In Cluster API mode the KamajiControlPlane may have been made before the
			// Cluster failed: remove it, so that the next apply does not find it in its way.
			cleanup, cancel := context.WithTimeout(context.WithoutCancel(o.ctx), time.Minute)
			defer cancel()
			if err := o.client.Delete(cleanup, spec.Key()); err != nil {
				o.diags.AddWarning("Partly Created Cluster Left Behind",
					fmt.Sprintf("Creating cluster %s/%s failed, and removing what was already made failed too; delete it by hand "+
						"before applying again.\n\n%s", spec.Namespace, spec.Name, err))
			}
		}
		return false
	}
	if o.plan.WaitForReady.ValueBool() {
		err := waitReady(o, "control plane", func(s cluster.Status) string { return s.Describe(spec) },
			func(progress func(cluster.Status)) (cluster.Status, error) {
				return o.client.WaitReady(o.ctx, spec, progress)
			})
		if err != nil {
			o.fail(err)
		}
	}
	return true
}

// readCluster reads the cluster back into m; waited, when a wait succeeded, is the status
// that satisfied it.
func readCluster(ctx context.Context, c *cluster.Client, m *clusterModel, waited *cluster.Status, diags *diag.Diagnostics) error {
	o, err := c.Observe(ctx, clusterKey(m), knownCA(m))
	if err != nil {
		return err
	}
	if waited != nil {
		o.Status = *waited
	}
	if len(o.Missing) > 0 {
		// Half a cluster: the state keeps what it had, only the status says Incomplete, so
		// that the plan is an in-place update that writes the missing object as configured
		// (read from what is left, immutable fields would look changed and force a
		// replacement, and a create would find the rest and refuse).
		diags.AddWarning("Cluster Object Deleted Out Of Band",
			fmt.Sprintf("Cluster %s/%s: %s no longer exists in the management cluster, while the rest of the cluster does. "+
				"The next apply writes it again as configured.", m.Namespace.ValueString(), m.Name.ValueString(), strings.Join(o.Missing, " and ")))
		m.Status = types.StringValue(statusIncomplete)
		return nil
	}
	diags.Append(m.fromObserved(ctx, o, *m)...)
	return nil
}

// knownCA is the CA certificate m holds, if any, and where it was read from.
func knownCA(m *clusterModel) cluster.KnownCA {
	if m.CACertificate.IsNull() || m.CACertificate.IsUnknown() {
		return cluster.KnownCA{}
	}
	return cluster.KnownCA{Certificate: m.CACertificate.ValueString(), Source: m.CASource}
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	namespace, name, ok := importNamespacedID(ctx, req.ID, validators.DNS1035Label(),
		"Import a cluster as <namespace>/<name>, e.g. `terraform import qumulus_cluster.prod tenant-acme/prod`", &resp.Diagnostics)
	if !ok {
		return
	}
	m := clusterModel{Namespace: types.StringValue(namespace), Name: types.StringValue(name), ClusterAPI: types.ObjectNull(attrTypes("cluster_api"))}
	c, host, diags := r.client(&m)
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
		addClusterError(&resp.Diagnostics, host, &m, "importing", 0, err)
		return
	}
	clusterAPIValue := types.ObjectNull(attrTypes("cluster_api"))
	if clusterAPI {
		clusterAPIValue = objectValue(ctx, attrTypes("cluster_api"), clusterAPIModel{
			InfrastructureRef: types.ObjectNull(attrTypes("cluster_api", "infrastructure_ref")),
		}, &resp.Diagnostics)
	}
	setImported(ctx, &resp.State, map[string]any{
		"id": namespace + "/" + name, "namespace": namespace, "name": name, "wait_for_ready": true, "cluster_api": clusterAPIValue,
	}, &resp.Diagnostics)
}

// addClusterError turns an error of the cluster package into a diagnostic that names the
// cluster and what to do.
func addClusterError(diags *diag.Diagnostics, host string, m *clusterModel, action string, timeout time.Duration, err error) {
	namespace, name, version := m.Namespace.ValueString(), m.Name.ValueString(), m.Version.ValueString()
	subject := fmt.Sprintf("cluster %s/%s", namespace, name)
	inspect := fmt.Sprintf("kubectl -n %s describe tenantcontrolplane %s", namespace, name)
	if !m.ClusterAPI.IsNull() {
		inspect = fmt.Sprintf("kubectl -n %s describe cluster,kamajicontrolplane,tenantcontrolplane %s", namespace, name)
	}
	objectErrors{
		title: "Cluster", subject: subject, importID: namespace + "/" + name,
		namespaceAdvice:  "Create the tenant first and refer to it (namespace = qumulus_tenant.<name>.namespace) so that Terraform orders the two.",
		unsupportedTitle: "Field Not Known To The Installed Kamaji",
		unsupportedAdvice: "The installed Kamaji (or its Cluster API provider) is older than the field. Upgrade Kamaji, or remove " +
			"the attribute of the field named below.",
		notReady: func(e *kube.NotReadyError) (string, string) {
			return "Control Plane Not Ready In Time", fmt.Sprintf("%s was applied, but %s did not become Ready at %s within %s. "+
				"Last seen: %s.\n\nInspect `%s`, the logs of Kamaji (and, in Cluster API mode, of its Cluster API provider and of "+
				"Cluster API), and the DataStore the control plane uses (`kubectl get datastores`). %s",
				capitalize(subject), e.Object, version, timeout, e.Last, inspect, untaintAdvice(action, "cluster", "the control plane until it is Ready"))
		},
		stuck: func(e *kube.StuckError) (string, string) {
			return "Cluster Not Deleted In Time", fmt.Sprintf("%s was deleted but is not gone after %s: %s.\n\nKamaji removes its "+
				"finalizer from a TenantControlPlane only once it has deleted the tenant's data from the DataStore: check that the "+
				"DataStore is ready and Kamaji's logs (`%s`). Then destroy again, or raise timeouts.delete.",
				capitalize(subject), timeout, strings.Join(e.Remaining, "; "), inspect)
		},
	}.add(diags, host, action, timeout, err)
}
