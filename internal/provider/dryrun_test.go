package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

func TestObjectFieldsAttribute(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fields      objectFields
		kind, field string
		want        string
	}{
		{clusterFields, "TenantControlPlane", "spec.networkProfile.clusterDomain", "network.cluster_domain"},
		{clusterFields, "TenantControlPlane", "spec.networkProfile", "network"},
		{clusterFields, "TenantControlPlane", "spec.networkProfile.certSANs[1]", "network.cert_sans[1]"},
		{clusterFields, "TenantControlPlane", "spec.kubernetes.kubelet.configurationJSONPatches[2].path", "kubelet.config_patches[2]"},
		{clusterFields, "TenantControlPlane", "spec.controlPlane.deployment.resources.apiServer.requests[cpu]", `api_server.requests["cpu"]`},
		{clusterFields, "TenantControlPlane", "metadata.labels", "labels"},
		{clusterFields, "TenantControlPlane", "metadata.name", "name"},
		{clusterFields, "KamajiControlPlane", "spec.network.loadBalancerConfig.loadBalancerSourceRanges[0]", "network.load_balancer_source_ranges[0]"},
		{clusterFields, "Cluster", "spec.clusterNetwork.serviceDomain", "network.cluster_domain"},
		{clusterFields, "Cluster", "spec.clusterNetwork.pods.cidrBlocks[1]", "network.pod_cidrs[1]"},
		{workerPoolFields, "MachineDeployment", "spec.rollout.strategy.rollingUpdate.maxSurge", "rollout.max_surge"},
		{workerPoolFields, "MachineDeployment", "spec.template.spec.version", "version"},
		{workerPoolFields, "KubeadmConfigTemplate", "spec.template.spec.files[3].contentFrom.secret.name", "files[3]"},
		{workerPoolFields, "DockerMachineTemplate", "spec.template.spec.customImage", "infrastructure.spec"},
		{workerPoolFields, "MachineHealthCheck", "spec.checks.nodeStartupTimeoutSeconds", "health_check.node_startup_timeout_seconds"},
		{tenantFields, "LimitRange", "spec.limits[0].default[cpu]", `limit_range.default["cpu"]`},
		{tenantFields, "ResourceQuota", "spec.hard[requests.cpu]", `quota["requests.cpu"]`},
		{tenantFields, "Namespace", "metadata.labels", "labels"},
		{tenantFields, "Namespace", "metadata.name", "namespace"},
		// Unknown fields and kinds name no attribute.
		{clusterFields, "TenantControlPlane", "spec.somethingNew", ""},
		{clusterFields, "TenantControlPlane", "", ""},
		{tenantFields, "Secret", "data", ""},
	}
	for _, c := range cases {
		got, ok := c.fields.attribute(c.kind, c.field)
		if c.want == "" {
			if ok {
				t.Errorf("%s %q: mapped to %s, want no attribute", c.kind, c.field, got)
			}
			continue
		}
		if !ok || got.String() != c.want {
			t.Errorf("%s %q: got %s (%v), want %s", c.kind, c.field, got, ok, c.want)
		}
	}
}

func TestObjectFieldsFromMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind, message, want string
	}{
		{"Namespace", "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed expression: object.metadata.labels['env'] != 'forbidden'", "labels"},
		{"TenantControlPlane", `admission webhook "x" denied the request: spec.dataStore: missing DataStore does not exist`, "data_store"},
		{"MachineDeployment", "ValidatingAdmissionPolicy 'p' denied request: spec.template.spec.version must be at least v1.34", "version"},
		// A domain name or a message without a field names nothing.
		{"TenantControlPlane", `admission webhook "vtcp.kamaji.clastix.io" denied the request: no`, ""},
	}
	for _, c := range cases {
		got, ok := (objectFields{}).fromMessage(c.kind, c.message)
		for _, f := range []objectFields{clusterFields, workerPoolFields, tenantFields} {
			if !ok {
				got, ok = f.fromMessage(c.kind, c.message)
			}
		}
		if c.want == "" && ok || c.want != "" && (!ok || got.String() != c.want) {
			t.Errorf("%s %q: got %s (%v), want %q", c.kind, c.message, got, ok, c.want)
		}
	}
}

// TestObjectFieldsNameAttributes checks every attribute of the field tables against the
// resource's schema, so that a renamed attribute cannot leave the table behind.
func TestObjectFieldsNameAttributes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range map[string]struct {
		fields objectFields
		schema schema.Schema
	}{
		"qumulus_cluster":     {clusterFields, clusterSchema(ctx)},
		"qumulus_worker_pool": {workerPoolFields, workerPoolSchema(ctx)},
		"qumulus_tenant":      {tenantFields, tenantSchema(ctx)},
	} {
		for kind, table := range c.fields {
			for field, attr := range table {
				if _, diags := c.schema.AttributeAtPath(ctx, attributePath(attr, "")); diags.HasError() {
					t.Errorf("%s: %s %s maps to %s, which the schema does not have", name, kind, field, attr)
				}
			}
		}
	}
}

func TestAddRefusals(t *testing.T) {
	t.Parallel()
	invalid := apierrors.NewInvalid(k8sschema.GroupKind{Group: "kamaji.clastix.io", Kind: "TenantControlPlane"}, "prod", field.ErrorList{
		field.Invalid(field.NewPath("spec", "networkProfile", "clusterDomain"), "clusterlocal", `spec.networkProfile.clusterDomain in body should match '.*\..*'`),
	})
	webhook := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
		Message: `admission webhook "vtcp" denied the request: the platform allows no such thing`}}
	var diags diag.Diagnostics
	addRefusals(&diags, "https://mgmt:6443", "cluster tenant-a/prod", clusterFields, &kube.RefusedError{Refusals: []kube.Refusal{
		*kube.RefusalOf("TenantControlPlane tenant-a/prod", "TenantControlPlane", invalid),
		*kube.RefusalOf("TenantControlPlane tenant-a/prod", "TenantControlPlane", webhook),
	}})
	if len(diags) != 2 || diags.ErrorsCount() != 2 {
		t.Fatalf("got %d diagnostics, want two errors: %v", len(diags), diags)
	}
	onAttribute, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !onAttribute.Path().Equal(path.Root("network").AtName("cluster_domain")) {
		t.Errorf("the schema refusal is not on network.cluster_domain: %v", diags[0])
	}
	for _, want := range []string{"https://mgmt:6443", "TenantControlPlane tenant-a/prod", "cluster tenant-a/prod",
		"(field spec.networkProfile.clusterDomain)", "should match", "Change network.cluster_domain", "nothing was changed"} {
		if !strings.Contains(diags[0].Detail(), want) {
			t.Errorf("detail %q does not contain %q", diags[0].Detail(), want)
		}
	}
	if diags[0].Summary() != refusedSummary {
		t.Errorf("summary %q, want %q", diags[0].Summary(), refusedSummary)
	}
	if _, ok := diags[1].(diag.DiagnosticWithPath); ok {
		t.Errorf("a webhook denial naming no field is on an attribute: %v", diags[1])
	}
	for _, want := range []string{"the platform allows no such thing", "admission webhook or policy", "ask its operators"} {
		if !strings.Contains(diags[1].Detail(), want) {
			t.Errorf("detail %q does not contain %q", diags[1].Detail(), want)
		}
	}
}

func TestPlanDryRunSetting(t *testing.T) {
	t.Parallel()
	m := nullModel()
	m.PlanDryRun = types.BoolNull()
	if on, diags := m.planDryRun(fakeEnv(nil)); !on || diags.HasError() {
		t.Errorf("unset: %v %v, want on", on, diags)
	}
	if on, _ := m.planDryRun(fakeEnv(map[string]string{envPlanDryRun: "false"})); on {
		t.Errorf("%s=false: on", envPlanDryRun)
	}
	if _, diags := m.planDryRun(fakeEnv(map[string]string{envPlanDryRun: "maybe"})); !diags.HasError() {
		t.Errorf("%s=maybe: no error", envPlanDryRun)
	}
	m.PlanDryRun = types.BoolValue(false)
	if on, _ := m.planDryRun(fakeEnv(map[string]string{envPlanDryRun: "true"})); on {
		t.Error("plan_dry_run = false: the environment turned it on")
	}
	m.PlanDryRun = types.BoolUnknown()
	if on, _ := m.planDryRun(fakeEnv(nil)); on {
		t.Error("plan_dry_run unknown at plan: on")
	}
}

// withAttributes returns v with attrs replaced (top-level attributes).
func withAttributes(tb testing.TB, t tftypes.Object, v *tfprotov6.DynamicValue, attrs map[string]tftypes.Value) *tfprotov6.DynamicValue {
	tb.Helper()
	value, err := v.Unmarshal(t)
	if err != nil {
		tb.Fatal(err)
	}
	var all map[string]tftypes.Value
	if err := value.As(&all); err != nil {
		tb.Fatal(err)
	}
	for k, a := range attrs {
		all[k] = a
	}
	return dynamicValue(tb, t, tftypes.NewValue(t, all))
}

// clusterDryRunAPI is clusterAPI with the cluster's namespace, which a dry run reads first.
func clusterDryRunAPI() *memoryAPI {
	api := clusterAPI(benchCAChecksum)
	api.put("/api/v1/namespaces/"+benchNamespace, &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: benchNamespace, Labels: map[string]string{kube.LabelTenant: "acme"}},
	})
	return api
}

// TestClusterPlanDryRunRequests counts the requests of plan_dry_run in the plan of one
// cluster: none when nothing changes; the namespace and one dry-run PATCH of the
// TenantControlPlane for a change, and only the PATCH when the provider plans the change
// again (the namespace's tenant is remembered, as for many clusters of one namespace);
// none with plan_dry_run = false.
func TestClusterPlanDryRunRequests(t *testing.T) {
	t.Parallel()
	dryRun := "PATCH " + benchTCPPath + "?dryRun=All"
	namespace := "GET /api/v1/namespaces/" + benchNamespace
	for _, c := range []struct {
		name     string
		settings map[string]tftypes.Value
		change   bool
		want     []string
		// again is what planning the same change a second time requests.
		again []string
	}{
		{name: "no change", want: nil},
		{name: "change", change: true, want: []string{namespace, dryRun}, again: []string{dryRun}},
		{name: "change, plan_dry_run = false", change: true, settings: map[string]tftypes.Value{"plan_dry_run": tftypes.NewValue(tftypes.Bool, false)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := clusterDryRunAPI()
			p := newProtocolProviderWith(t, api, c.settings)
			typ := p.stateType("qumulus_cluster")
			stored := p.importState(t, "qumulus_cluster", benchNamespace+"/"+benchCluster)
			refreshed, private := p.refresh(t, "qumulus_cluster", stored)
			config, proposed := configOf(t, typ, refreshed, clusterConfigKeep...), refreshed
			if c.change {
				three := map[string]tftypes.Value{"replicas": tftypes.NewValue(tftypes.Number, 3)}
				config, proposed = withAttributes(t, typ, config, three), withAttributes(t, typ, refreshed, three)
			}
			api.take()
			for i, want := range [][]string{c.want, c.again} {
				planned, err := p.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
					TypeName: "qumulus_cluster", PriorState: refreshed, ProposedNewState: proposed, Config: config, PriorPrivate: private,
				})
				if err != nil {
					t.Fatal(err)
				}
				checkDiagnostics(t, "PlanResourceChange", planned.Diagnostics)
				if got := api.take(); !slices.Equal(got, want) {
					t.Errorf("plan %d made requests %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

// TestClusterPlanDryRunRefused checks that what the API server refuses in a dry run fails
// the plan on the attribute, and that answers that are not refusals do not.
func TestClusterPlanDryRunRefused(t *testing.T) {
	t.Parallel()
	schemaRefusal := apierrors.NewInvalid(k8sschema.GroupKind{Group: "kamaji.clastix.io", Kind: "TenantControlPlane"}, benchCluster, field.ErrorList{
		field.Invalid(field.NewPath("spec", "networkProfile", "clusterDomain"), "clusterlocal", `should match '.*\..*'`)})
	for _, c := range []struct {
		name   string
		answer *apierrors.StatusError
		want   path.Path
		ok     bool
	}{
		{name: "CRD schema", answer: schemaRefusal, want: path.Root("network").AtName("cluster_domain")},
		{name: "read-only credentials", answer: apierrors.NewForbidden(k8sschema.GroupResource{Group: "kamaji.clastix.io", Resource: "tenantcontrolplanes"},
			benchCluster, errors.New(`User "viewer" cannot patch resource "tenantcontrolplanes"`)), ok: true},
		{name: "webhook without dry-run support", answer: apierrors.NewBadRequest(`admission webhook "x" does not support dry run`), ok: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := clusterDryRunAPI()
			api.refusals = map[string]*apierrors.StatusError{benchTCPPath: c.answer}
			p := newProtocolProvider(t, api)
			typ := p.stateType("qumulus_cluster")
			stored := p.importState(t, "qumulus_cluster", benchNamespace+"/"+benchCluster)
			refreshed, private := p.refresh(t, "qumulus_cluster", stored)
			three := map[string]tftypes.Value{"replicas": tftypes.NewValue(tftypes.Number, 3)}
			planned, err := p.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
				TypeName: "qumulus_cluster", PriorState: refreshed, PriorPrivate: private,
				ProposedNewState: withAttributes(t, typ, refreshed, three),
				Config:           withAttributes(t, typ, configOf(t, typ, refreshed, clusterConfigKeep...), three),
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.ok {
				checkDiagnostics(t, "PlanResourceChange", planned.Diagnostics)
				return
			}
			var found []string
			for _, d := range planned.Diagnostics {
				found = append(found, fmt.Sprintf("%s at %v: %s", d.Summary, d.Attribute, d.Detail))
				if d.Severity == tfprotov6.DiagnosticSeverityError && d.Summary == refusedSummary &&
					d.Attribute.Equal(tftypes.NewAttributePath().WithAttributeName("network").WithAttributeName("cluster_domain")) {
					return
				}
			}
			t.Errorf("no %q error on %s; diagnostics: %q", refusedSummary, c.want, found)
		})
	}
}
