package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/cloud"
	"github.com/qumulus/terraform-provider-qumulus/internal/helmrelease"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

var _ managedResource = (*openstackResource)(nil)

const (
	openstackCreateTimeout = 60 * time.Minute
	openstackUpdateTimeout = 60 * time.Minute
	openstackDeleteTimeout = 30 * time.Minute
)

// NewOpenStackResource is qumulus_openstack.
func NewOpenStackResource() resource.Resource {
	r := &openstackResource{}
	r.lifecycle = lifecycle[openstackModel, *openstackClient, struct{}]{
		kind: "openstack", noun: "openstack", schema: openstackSchema,
		create: openstackCreateTimeout, update: openstackUpdateTimeout, delete: openstackDeleteTimeout,
		newClient: func(c *kube.Clients) *openstackClient { return &openstackClient{data: r.data, mgmt: c} },
		timeouts:  func(m *openstackModel) timeouts.Value { return m.Timeouts },
		id:        func(m *openstackModel) string { return m.id() },
		apply:     applyOpenStack,
		read:      readOpenStack,
		remove:    removeOpenStack,
		diagnose:  addOpenStackError,
	}
	return r
}

type openstackResource struct {
	lifecycle[openstackModel, *openstackClient, struct{}]
}

// openstackClient reaches a tenant cluster through the management cluster.
type openstackClient struct {
	data *providerData
	mgmt *kube.Clients
}

// tenant returns the cloud client for m's tenant cluster.
func (c *openstackClient) tenant(ctx context.Context, m *openstackModel) (*cloud.Client, error) {
	cache, _, diags := c.data.tenantClusters("qumulus_openstack " + m.id())
	if diags.HasError() {
		return nil, errors.New(diags[0].Detail())
	}
	conn, err := cache.Get(ctx, tenantcluster.Key{Namespace: m.Namespace.ValueString(), Name: m.ClusterName.ValueString()}, kamaji.AdminKubeconfigKey)
	if err != nil {
		return nil, err
	}
	return &cloud.Client{
		Kube: conn.Clients, Charts: c.data.chartCache(),
		Info: func(ctx context.Context, msg string, fields map[string]any) {
			f := map[string]any{"openstack": m.id()}
			for k, v := range fields {
				f[k] = v
			}
			tflog.Info(ctx, msg, f)
		},
	}, nil
}

// clusterDomain is the DNS domain the cluster's TenantControlPlane sets, cluster.local
// when it sets none.
func (c *openstackClient) clusterDomain(ctx context.Context, namespace, name string) (string, error) {
	tcp, err := c.mgmt.Dynamic.Resource(kamaji.TenantControlPlaneGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", &tenantcluster.NotFoundError{Cluster: tenantcluster.Key{Namespace: namespace, Name: name}}
	}
	if err != nil {
		return "", &kube.ObjectError{Action: "reading", Object: "TenantControlPlane " + namespace + "/" + name, Err: err}
	}
	if d := kube.NestedString(tcp, "spec", "networkProfile", "clusterDomain"); d != "" {
		return d, nil
	}
	return defaultClusterDomain, nil
}

// ValidateConfig refuses, from the configuration alone, a selection of services that
// cannot work and replicas for services that run one pod per node.
func (r *openstackResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	m, ok := r.configModel(ctx, req.Config, &resp.Diagnostics)
	if !ok || m.Services.IsUnknown() {
		return
	}
	services := m.services(ctx, &resp.Diagnostics)
	for _, name := range sortedKeys(services) {
		s := services[name]
		svc, known := openstack.Lookup(name)
		if known && len(svc.ReplicaKeys) == 0 && !s.Replicas.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("services").AtMapKey(name).AtName("replicas"), "Service Has No Replicas",
				fmt.Sprintf("%s runs as DaemonSets, one pod on every node, so replicas does not apply. Remove it; the number of "+
					"its pods follows the worker pools.", name))
		}
	}
	enabled, ok := enabledServices(services)
	if !ok {
		return
	}
	if err := openstack.CheckSelection(enabled); err != nil {
		for _, e := range joined(err) {
			var se *openstack.SelectionError
			at := path.Root("services")
			if errors.As(e, &se) && se.Service != "the selection" {
				at = at.AtMapKey(se.Service)
			}
			resp.Diagnostics.AddAttributeError(at, "Services Do Not Fit Together",
				fmt.Sprintf("Services: %s. Enable what is missing in services, or disable what needs it (enabled = false). The "+
					"default set is %s.", e.Error(), strings.Join(openstack.DefaultServices(), ", ")))
		}
	}
}

// joined splits an errors.Join.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ModifyPlan completes the plan: the generated credentials, the outputs, the override
// features checked against the override files, and which releases change. A release whose
// inputs are unchanged and that is deployed keeps what the state has; the others are
// planned deployed, with their revision and checksum known after apply.
func (r *openstackResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	plan, _, state, ok := r.planAndState(ctx, req, &resp.Diagnostics)
	if !ok {
		return
	}
	if replacing(ctx, openstackSchema(ctx), req) {
		state = nil
	}
	if isKnown(ctx, plan.Namespace) && isKnown(ctx, plan.ClusterName) && isKnown(ctx, plan.ReleaseNamespace) {
		plan.ID = types.StringValue(plan.id())
	}
	if state != nil && plan.ClusterDomain.IsUnknown() {
		plan.ClusterDomain = state.ClusterDomain
	}
	r.checkFeatures(ctx, &plan, &resp.Diagnostics)

	services := plan.services(ctx, &resp.Diagnostics)
	enabled, known := enabledServices(services)
	if !known || plan.Services.IsUnknown() || !isKnown(ctx, plan.Credentials) {
		plan.Releases, plan.GeneratedCredentials = types.MapUnknown(plan.Releases.ElementType(ctx)), types.MapUnknown(types.StringType)
		plan.outputs(ctx, &resp.Diagnostics)
		resp.Diagnostics.Append(r.setModel(ctx, &resp.Plan, &plan)...)
		return
	}

	// Credentials: the state's; new ones for what newly enabled services need are
	// generated at apply (a random value chosen at plan would differ when Terraform plans
	// again during apply).
	var prior, priorGiven map[string]string
	if state != nil {
		prior = mapOf(ctx, state.GeneratedCredentials, &resp.Diagnostics)
		priorGiven = mapOf(ctx, state.Credentials, &resp.Diagnostics)
	}
	given := mapOf(ctx, plan.Credentials, &resp.Diagnostics)
	generated := maps.Clone(prior)
	if missingCredentials(prior, given, enabled) {
		plan.GeneratedCredentials = types.MapUnknown(types.StringType)
	} else {
		gv, d := types.MapValueFrom(ctx, types.StringType, prior)
		resp.Diagnostics.Append(d...)
		plan.GeneratedCredentials = gv
	}

	// Releases: kept where nothing that goes into them changed.
	var priorRels map[string]releaseModel
	var priorServices map[string]serviceModel
	shared := false
	if state != nil {
		priorRels = state.releasesOf(ctx, &resp.Diagnostics)
		priorServices = state.services(ctx, &resp.Diagnostics)
		shared = sharedInputsChanged(ctx, &plan, state)
	}
	before := effectiveCredentials(prior, priorGiven)
	after := effectiveCredentials(generated, given)
	rels := map[string]releaseModel{}
	for _, name := range enabled {
		old, had := priorRels[name]
		changed := !had || shared || old.Status.ValueString() != "deployed" ||
			!sameService(ctx, priorServices[name], services[name])
		for _, k := range usedKeys(name) {
			changed = changed || before[k] != after[k]
		}
		if !changed {
			rels[name] = old
			continue
		}
		rels[name] = releaseModel{
			ReleaseName: types.StringValue(name), ChartVersion: types.StringUnknown(), AppVersion: types.StringUnknown(),
			Revision: types.Int64Unknown(), Status: types.StringValue("deployed"), ValuesChecksum: types.StringUnknown(),
		}
	}
	plan.Releases = releasesValue(ctx, rels, &resp.Diagnostics)
	plan.outputs(ctx, &resp.Diagnostics)
	resp.Diagnostics.Append(r.setModel(ctx, &resp.Plan, &plan)...)
}

// sharedInputsChanged reports a change of what goes into every release.
func sharedInputsChanged(ctx context.Context, plan, state *openstackModel) bool {
	var pc, sc chartsModel
	var d diag.Diagnostics
	objectAs(ctx, plan.Charts, &pc, &d)
	objectAs(ctx, state.Charts, &sc, &d)
	return !pc.Repository.Equal(sc.Repository) || !pc.Path.Equal(sc.Path) || !pc.Version.Equal(sc.Version) ||
		!plan.OpenStackRelease.Equal(state.OpenStackRelease) || !plan.BaseOS.Equal(state.BaseOS) ||
		!plan.Features.Equal(state.Features) || !plan.ValuesOverrides.Equal(state.ValuesOverrides) ||
		!plan.RegionName.Equal(state.RegionName) || !plan.ClusterDomain.Equal(state.ClusterDomain) ||
		!plan.PublicEndpoints.Equal(state.PublicEndpoints)
}

// sameService reports whether a service's own settings are unchanged (enabled aside).
func sameService(ctx context.Context, a, b serviceModel) bool {
	norm := func(v types.List) types.List {
		if v.IsNull() {
			return types.ListValueMust(types.StringType, nil)
		}
		return v
	}
	_ = ctx
	return a.Replicas.Equal(b.Replicas) && a.Version.Equal(b.Version) && norm(a.Values).Equal(norm(b.Values))
}

// checkFeatures refuses, at plan time, override features that no chart has a file for.
func (r *openstackResource) checkFeatures(ctx context.Context, plan *openstackModel, diags *diag.Diagnostics) {
	if !isKnown(ctx, plan.ValuesOverrides) || !isKnown(ctx, plan.Features) || !isKnown(ctx, plan.OpenStackRelease) ||
		!isKnown(ctx, plan.BaseOS) || !isKnown(ctx, plan.Services) {
		return
	}
	src := overrideSource(plan.ValuesOverrides.ValueString())
	if src == nil {
		return
	}
	enabled, _ := enabledServices(plan.services(ctx, diags))
	err := openstack.CheckFeatures(ctx, src, enabled, plan.features(ctx, diags))
	var unknown *openstack.UnknownFeatureError
	switch {
	case err == nil:
	case errors.As(err, &unknown):
		at := path.Root("features")
		switch unknown.Feature {
		case plan.OpenStackRelease.ValueString():
			at = path.Root("openstack_release")
		case plan.BaseOS.ValueString():
			at = path.Root("base_os")
		}
		diags.AddAttributeError(at, "No Override File For Feature",
			fmt.Sprintf("qumulus_openstack %s: %s (in %s). Choose one that exists, or add its files.", plan.id(), capitalize(err.Error()),
				plan.ValuesOverrides.ValueString()))
	default:
		diags.AddAttributeError(path.Root("values_overrides"), "Cannot Read The Override Files",
			fmt.Sprintf("qumulus_openstack %s: the override files at %s could not be read to check the features: %s. Correct "+
				"values_overrides or make it reachable from where Terraform runs.", plan.id(), plan.ValuesOverrides.ValueString(), err))
	}
}

// ImportState takes <namespace>/<cluster_name>/<release_namespace>.
func (r *openstackResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	usage := "Import a qumulus_openstack by <namespace>/<cluster_name>/<release_namespace>, e.g. tenant-acme/prod/openstack"
	if len(parts) != 3 {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%s; got %q.", usage, req.ID))
		return
	}
	var d diag.Diagnostics
	validateString(ctx, validators.DNS1123Label(), path.Root("namespace"), types.StringValue(parts[0]), &d)
	validateString(ctx, validators.DNS1035Label(), path.Root("cluster_name"), types.StringValue(parts[1]), &d)
	validateString(ctx, validators.DNS1123Label(), path.Root("release_namespace"), types.StringValue(parts[2]), &d)
	resp.Diagnostics.Append(d...)
	if d.HasError() {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%s; got %q.", usage, req.ID))
		return
	}
	setImported(ctx, &resp.State, map[string]any{
		"id": req.ID, "namespace": parts[0], "cluster_name": parts[1], "release_namespace": parts[2],
	}, &resp.Diagnostics)
}

// applyOpenStack installs, upgrades and uninstalls releases until the tenant cluster holds
// what the plan says.
func applyOpenStack(o *op[openstackModel, *openstackClient, struct{}], before *openstackModel) bool {
	ctx := o.ctx
	if o.plan.ClusterDomain.IsUnknown() || o.plan.ClusterDomain.IsNull() {
		domain, err := o.client.clusterDomain(ctx, o.plan.Namespace.ValueString(), o.plan.ClusterName.ValueString())
		if err != nil {
			o.fail(err)
			return false
		}
		o.plan.ClusterDomain = types.StringValue(domain)
	}
	if o.plan.GeneratedCredentials.IsUnknown() {
		var prior map[string]string
		if before != nil {
			prior = mapOf(ctx, before.GeneratedCredentials, o.diags)
		}
		enabled, _ := enabledServices(o.plan.services(ctx, o.diags))
		generated, err := generateCredentials(prior, mapOf(ctx, o.plan.Credentials, o.diags), enabled)
		if err != nil {
			o.diags.AddError("Generating Credentials", err.Error())
			return false
		}
		gv, d := types.MapValueFrom(ctx, types.StringType, generated)
		o.diags.Append(d...)
		o.plan.GeneratedCredentials = gv
		o.plan.outputs(ctx, o.diags)
	}
	spec := o.plan.spec(ctx, o.diags)
	if o.diags.HasError() {
		return false
	}
	cc, err := o.client.tenant(ctx, &o.plan)
	if err != nil {
		o.fail(err)
		return false
	}
	var installed []string
	if before != nil {
		installed = sortedKeys(before.releasesOf(ctx, o.diags))
	}
	o.info("applying releases", map[string]any{"services": strings.Join(sortedKeys(spec.Services), ", ")})
	if err := cc.Apply(ctx, spec, installed); err != nil {
		o.fail(err)
	}
	return true
}

// readOpenStack reads the releases into m; on an import (no releases in m yet) also the
// configuration the namespace's record keeps and the credentials the releases carry.
func readOpenStack(ctx context.Context, c *openstackClient, m *openstackModel, _ *struct{}, diags *diag.Diagnostics) error {
	cc, err := c.tenant(ctx, m)
	var notFound *tenantcluster.NotFoundError
	if errors.As(err, &notFound) {
		// The tenant cluster was deleted, and what was installed in it went with it: the
		// next apply installs into the cluster made anew.
		return fmt.Errorf("%w: %w, and with it the releases", kube.ErrNotFound, err)
	}
	if err != nil {
		return err
	}
	importing := m.Releases.IsNull() && m.GeneratedCredentials.IsNull()
	generated := mapOf(ctx, m.GeneratedCredentials, diags)
	var exp map[string]cloud.Expected
	if !importing {
		exp = expected(m.releasesOf(ctx, diags))
	}
	obs, err := cc.Observe(ctx, m.ReleaseNamespace.ValueString(), exp, generated[checksumKey])
	if err != nil {
		return err
	}
	if importing {
		generated = map[string]string{}
		if obs.ChecksumKey != "" {
			generated[checksumKey] = obs.ChecksumKey
		} else if generated, err = generateCredentials(nil, nil, nil); err != nil {
			return err
		}
		m.restore(ctx, obs.Record, diags)
		if obs.Record == "" {
			m.Services = servicesFor(ctx, sortedKeys(obs.Releases), diags)
		}
		for name, rel := range obs.Releases {
			svc, _ := openstack.Lookup(name)
			for k, v := range svc.RecoverCredentials(rel.Values) {
				generated[k] = v
			}
		}
		gv, d := types.MapValueFrom(ctx, types.StringType, generated)
		diags.Append(d...)
		m.GeneratedCredentials = gv
		if m.ClusterDomain.IsNull() || m.ClusterDomain.IsUnknown() {
			if m.ClusterDomain = types.StringValue(defaultClusterDomain); len(obs.Releases) > 0 {
				for _, rel := range obs.Releases {
					if v, ok := rel.Values["endpoints"].(map[string]any)["cluster_domain_suffix"].(string); ok && v != "" {
						m.ClusterDomain = types.StringValue(v)
					}
					break
				}
			}
		}
	}
	enabled, _ := enabledServices(m.services(ctx, diags))
	rels := observedReleases(enabled, obs.Releases)
	for _, name := range enabled {
		if r := obs.Releases[name]; r != nil && len(r.Drift) > 0 {
			tflog.Warn(ctx, "openstack release drifted", map[string]any{"openstack": m.id(), "release": name, "drift": strings.Join(r.Drift, "; ")})
			diags.AddWarning("OpenStack Release Drifted",
				fmt.Sprintf("qumulus_openstack %s: release %s/%s is not what the last apply left: %s. The next apply upgrades it to repair this.",
					m.id(), m.ReleaseNamespace.ValueString(), name, strings.Join(r.Drift, "; ")))
		}
	}
	m.Releases = releasesValue(ctx, rels, diags)
	m.ID = types.StringValue(m.id())
	m.outputs(ctx, diags)
	return nil
}

// servicesFor is the services map that enables exactly names, as changes to the defaults.
func servicesFor(ctx context.Context, names []string, diags *diag.Diagnostics) types.Map {
	out := map[string]serviceModel{}
	entry := func(on bool) serviceModel {
		return serviceModel{Enabled: types.BoolValue(on), Replicas: types.Int64Null(), Version: types.StringNull(), Values: types.ListNull(types.StringType)}
	}
	defaults := openstack.DefaultServices()
	for _, n := range names {
		if !slices.Contains(defaults, n) {
			out[n] = entry(true)
		}
	}
	for _, n := range defaults {
		if !slices.Contains(names, n) {
			out[n] = entry(false)
		}
	}
	if len(out) == 0 {
		return types.MapNull(types.ObjectType{AttrTypes: serviceAttrTypes})
	}
	v, d := types.MapValueFrom(ctx, types.ObjectType{AttrTypes: serviceAttrTypes}, out)
	diags.Append(d...)
	return v
}

// removeOpenStack uninstalls every release in reverse dependency order and deletes the
// release namespace when the provider made it.
func removeOpenStack(ctx context.Context, c *openstackClient, state *openstackModel, diags *diag.Diagnostics) error {
	cc, err := c.tenant(ctx, state)
	var notFound *tenantcluster.NotFoundError
	if errors.As(err, &notFound) {
		tflog.Warn(ctx, "the cluster is gone, and with it the releases", map[string]any{"openstack": state.id()})
		return nil
	}
	if err != nil {
		return err
	}
	return cc.Destroy(ctx, state.ReleaseNamespace.ValueString(), sortedKeys(state.releasesOf(ctx, diags)), state.parallelism())
}

// addOpenStackError words the errors of an apply, a read or a destroy.
func addOpenStackError(diags *diag.Diagnostics, host string, m *openstackModel, action string, timeout time.Duration, err error) {
	subject := "qumulus_openstack " + m.id()
	var (
		steps []*openstack.StepError
		kc    = tenantClusterErrors(err)
	)
	for _, e := range joined(err) {
		var se *openstack.StepError
		if errors.As(e, &se) {
			steps = append(steps, se)
		}
	}
	switch {
	case kc:
		addKubeconfigError(diags, subject, host, err)
	case tenantNoAnswer(err, host) != nil:
		var interrupted []string
		for _, se := range steps {
			switch {
			case tenantNoAnswer(se.Err, host) != nil:
				interrupted = append(interrupted, se.Services...)
			case len(se.Skipped) == 0:
				addStepError(diags, subject, m, action, timeout, se)
			}
		}
		addTenantUnreachable(diags, subject, m, action, interrupted, tenantNoAnswer(err, host))
	case len(steps) > 0:
		for _, se := range steps {
			addStepError(diags, subject, m, action, timeout, se)
		}
	default:
		openstackErrors(m).add(diags, host, action, timeout, err)
	}
}

// tenantNoAnswer is the first request in err that a tenant cluster's API server (any but
// the management cluster's at mgmtHost) did not answer, nil when there is none.
func tenantNoAnswer(err error, mgmtHost string) *kube.NoAnswerError {
	var na *kube.NoAnswerError
	if !errors.As(err, &na) {
		return nil
	}
	if u, perr := url.Parse(mgmtHost); perr == nil && strings.HasSuffix(na.Host, "://"+u.Host) {
		return nil
	}
	return na
}

// addTenantUnreachable reports that the tenant cluster's API server stopped answering: the
// releases under way (interrupted) stay pending, and the next apply recovers them.
func addTenantUnreachable(diags *diag.Diagnostics, subject string, m *openstackModel, action string, interrupted []string, na *kube.NoAnswerError) {
	cluster := m.Namespace.ValueString() + "/" + m.ClusterName.ValueString()
	what := action + " the releases"
	if len(interrupted) > 0 {
		slices.Sort(interrupted)
		what = fmt.Sprintf("%s release %s of %s", action, strings.Join(interrupted, ", "), m.ReleaseNamespace.ValueString())
	}
	next := "Once it answers again, apply (or plan) again."
	if action != actionReading {
		next = "Once it answers again, apply again: releases caught mid-install or mid-upgrade are left pending there (Helm's " +
			"record cannot be written while the server is down), and the next apply recovers them and goes on from what is installed."
	}
	diags.AddError("Tenant API Server Unreachable",
		fmt.Sprintf("%s: the tenant API server of cluster %s at %s did not answer while %s. The configuration is not at fault. "+
			"Check that its control plane runs (`kubectl -n %s get tenantcontrolplane %s` and its pods on the management cluster) "+
			"and that %s is reachable from where Terraform runs. %s\n\n%s",
			subject, cluster, na.Host, what, m.Namespace.ValueString(), m.ClusterName.ValueString(), na.Host, next, na))
}

func tenantClusterErrors(err error) bool {
	var (
		notFound *tenantcluster.NotFoundError
		notReady *tenantcluster.NotReadyError
		noSecret *tenantcluster.SecretMissingError
		noKey    *tenantcluster.KeyMissingError
		invalid  *tenantcluster.InvalidError
	)
	return errors.As(err, &notFound) || errors.As(err, &notReady) || errors.As(err, &noSecret) || errors.As(err, &noKey) || errors.As(err, &invalid)
}

func openstackErrors(m *openstackModel) objectErrors {
	return objectErrors{
		title: "OpenStack", subject: "qumulus_openstack " + m.id(), importID: m.id(),
		notReady: func(e *kube.NotReadyError) (string, string) {
			return "OpenStack Release Not Ready", fmt.Sprintf("qumulus_openstack %s: %s is not ready: %s.", m.id(), e.Object, e.Last)
		},
	}
}

// addStepError reports one release (or install-together group) that failed or did not run.
func addStepError(diags *diag.Diagnostics, subject string, m *openstackModel, action string, timeout time.Duration, se *openstack.StepError) {
	ns := m.ReleaseNamespace.ValueString()
	if len(se.Skipped) > 0 {
		diags.AddError("OpenStack Release Not Installed",
			fmt.Sprintf("%s: %s. They are installed by the next apply, once what they need is ready.", subject, se.Error()))
		return
	}
	for _, e := range joined(se.Err) {
		var (
			re       *cloud.ReleaseError
			failed   *helmrelease.FailedError
			notReady *kube.NotReadyError
			nf       *chartsource.NotFoundError
			nv       *chartsource.NoVersionError
		)
		service := strings.Join(se.Services, " and ")
		if errors.As(e, &re) {
			service = re.Service
		}
		inspect := fmt.Sprintf("`kubectl -n %s get pods,jobs -l release_group=%s` and `helm -n %s history %s` in the tenant cluster",
			ns, service, ns, service)
		switch {
		case errors.As(e, &nf), errors.As(e, &nv):
			diags.AddAttributeError(path.Root("charts"), "OpenStack Chart Not Found",
				fmt.Sprintf("%s: %s: %s. Correct charts (repository, path, version) or services.%s.version.", subject, service, e, service))
		case errors.As(e, &notReady) && errors.Is(e, context.DeadlineExceeded) && timeoutName(action) != "":
			diags.AddError("OpenStack Release Not Ready In Time",
				fmt.Sprintf("%s: release %s/%s did not become ready within the %s timeout (%s): %s. It was rolled back so that the next "+
					"apply tries again; raise timeouts.%s if it needs longer, or look at %s.\n\n%s",
					subject, ns, service, timeoutName(action), timeout, notReady.Last, timeoutName(action), inspect, e))
		case errors.As(e, &failed):
			what := "the release failed"
			if failed.Object != "" {
				what = failed.Object + " failed"
				if failed.Condition != "" {
					what += " (" + failed.Condition + ")"
				}
			}
			undo := "It was left as it is."
			switch {
			case failed.RevertErr != nil:
				undo = "Undoing it failed too: " + failed.RevertErr.Error() + "."
			case failed.Reverted != "":
				undo = "It was " + failed.Reverted + "; the other releases stay."
			}
			if strings.Contains(e.Error(), "timed out") && timeoutName(action) != "" {
				undo += fmt.Sprintf(" Helm gave up waiting within what was left of the %s timeout (%s): raise timeouts.%s if it needs longer.",
					timeoutName(action), timeout, timeoutName(action))
			}
			diags.AddError("OpenStack Release Failed",
				fmt.Sprintf("%s: release %s/%s: %s. %s Fix the cause (see %s) and apply again: the next apply goes on from what is "+
					"installed.\n\n%s", subject, ns, service, what, undo, inspect, e))
		case errors.Is(e, context.DeadlineExceeded) && timeoutName(action) != "":
			diags.AddError("OpenStack Timed Out",
				fmt.Sprintf("%s: %s did not finish within the %s timeout (%s). Raise timeouts.%s, or look at %s.\n\n%s",
					subject, service, timeoutName(action), timeout, timeoutName(action), inspect, e))
		default:
			diags.AddError("OpenStack Release Failed",
				fmt.Sprintf("%s: %s: %s. Look at %s, fix the cause and apply again.", subject, service, e, inspect))
		}
	}
}

// chartCache is the provider run's chart cache, which every qumulus_openstack shares.
func (d *providerData) chartCache() *chartsource.Cache {
	d.chartsOnce.Do(func() { d.charts = chartsource.NewCache(nil) })
	return d.charts
}
