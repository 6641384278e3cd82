package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

const (
	benchNamespace = "tenant-acme"
	benchCluster   = "prod"
)

var (
	benchTCPPath = fmt.Sprintf("/apis/%s/namespaces/%s/tenantcontrolplanes/%s", kamaji.GroupVersion, benchNamespace, benchCluster)
	benchCAPath  = fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", benchNamespace, kamaji.CASecretName(benchCluster))
)

// fieldsOf is the managedFields set (fieldsV1) of the fields of an applied object.
func fieldsOf(v any) map[string]any {
	out := map[string]any{}
	if m, ok := v.(map[string]any); ok {
		for k, e := range m {
			out["f:"+k] = fieldsOf(e)
		}
	}
	return out
}

// readyTenantControlPlane is a bare-mode TenantControlPlane (ClusterIP, 2 replicas) as
// the management cluster returns it once Kamaji has made it Ready: the provider's applied
// fields, Kamaji's defaults, both field managers' entries and a full status. caChecksum is
// status.certificates.ca.checksum ("" for Kamaji releases that do not write it).
func readyTenantControlPlane(caChecksum string) *unstructured.Unstructured {
	spec := cluster.Spec{
		Namespace: benchNamespace, Name: benchCluster, Version: "v1.35.0", Replicas: new(int64(2)), Tenant: "acme",
		Network: cluster.Network{ServiceType: "ClusterIP"},
	}
	tcp := spec.TenantControlPlane()
	applied := fieldsOf(tcp.Object)
	delete(applied, "f:apiVersion")
	delete(applied, "f:kind")
	delete(applied["f:metadata"].(map[string]any), "f:name")
	delete(applied["f:metadata"].(map[string]any), "f:namespace")
	appliedJSON, _ := json.Marshal(applied)

	at := func(v any, path ...string) { _ = unstructured.SetNestedField(tcp.Object, v, path...) }
	at(map[string]any{
		"port": int64(6443), "serviceCidr": "10.96.0.0/16", "podCidr": "10.244.0.0/16",
		"dnsServiceIPs": []any{"10.96.0.10"}, "clusterDomain": "cluster.local", "certSANs": []any{},
	}, "spec", "networkProfile")
	at("default", "spec", "dataStore")
	at(benchNamespace+"_"+benchCluster, "spec", "dataStoreSchema")
	at(benchNamespace+"_"+benchCluster, "spec", "dataStoreUsername")
	at(map[string]any{"cgroupfs": "systemd", "preferredAddressTypes": []any{"InternalIP", "ExternalIP", "Hostname"}},
		"spec", "kubernetes", "kubelet")
	at([]any{"--allow-privileged=true"}, "spec", "controlPlane", "deployment", "extraArgs", "apiServer")
	at(int64(3), "metadata", "generation")
	tcp.SetUID("6d1c3f0e-3a2b-4c4d-9e8f-0a1b2c3d4e5f")
	tcp.SetResourceVersion("48213")
	tcp.SetCreationTimestamp(metav1.Date(2026, 12, 1, 8, 0, 0, 0, metav1.Now().Location()))
	tcp.SetFinalizers([]string{kamaji.Finalizer})

	certificate := func(secret, checksum string) map[string]any {
		return map[string]any{"secretName": secret, "checksum": checksum, "lastUpdate": "2026-12-01T08:01:00Z"}
	}
	ca := certificate(kamaji.CASecretName(benchCluster), caChecksum)
	if caChecksum == "" {
		delete(ca, "checksum")
	}
	kubeconfig := func(component string) map[string]any {
		return map[string]any{"secretName": benchCluster + "-" + component + "-kubeconfig", "checksum": "5e0e2c1b7a6f4d8e9c3b2a1f0e9d8c7b", "lastUpdate": "2026-12-01T08:01:00Z"}
	}
	condition := func(typ, reason string) map[string]any {
		return map[string]any{"type": typ, "status": "True", "reason": reason, "message": reason,
			"lastTransitionTime": "2026-12-01T08:01:30Z", "lastUpdateTime": "2026-12-01T08:01:30Z"}
	}
	tcp.Object["status"] = map[string]any{
		"observedGeneration":   int64(3),
		"controlPlaneEndpoint": "10.96.12.34:6443",
		"certificates": map[string]any{
			"ca":                     ca,
			"apiServer":              certificate(benchCluster+"-api-server-certificate", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
			"apiServerKubeletClient": certificate(benchCluster+"-api-server-kubelet-client-certificate", "1a1b2c3d4e5f60718293a4b5c6d7e8f9"),
			"frontProxyCA":           certificate(benchCluster+"-front-proxy-ca-certificate", "2a1b2c3d4e5f60718293a4b5c6d7e8f9"),
			"frontProxyClient":       certificate(benchCluster+"-front-proxy-client-certificate", "3a1b2c3d4e5f60718293a4b5c6d7e8f9"),
			"sa":                     certificate(benchCluster+"-sa-certificate", "4a1b2c3d4e5f60718293a4b5c6d7e8f9"),
			"etcd": map[string]any{
				"apiServer": certificate(benchCluster+"-datastore-certificate", "5a1b2c3d4e5f60718293a4b5c6d7e8f9"),
				"ca":        certificate("default-datastore-ca", "6a1b2c3d4e5f60718293a4b5c6d7e8f9"),
			},
		},
		"kubeconfig": map[string]any{
			"admin":             map[string]any{"secretName": kamaji.AdminKubeconfigSecretName(benchCluster), "checksum": "7a1b2c3d4e5f60718293a4b5c6d7e8f9", "lastUpdate": "2026-12-01T08:01:00Z"},
			"controllerManager": kubeconfig("controller-manager"),
			"scheduler":         kubeconfig("scheduler"),
		},
		"kubeadmconfig": map[string]any{"configmapName": benchCluster + "-kubeadmconfig", "checksum": "8a1b2c3d4e5f60718293a4b5c6d7e8f9", "lastUpdate": "2026-12-01T08:01:00Z"},
		"kubeadmPhase": map[string]any{
			"bootstrapToken":       map[string]any{"checksum": "9a1b2c3d4e5f60718293a4b5c6d7e8f9", "lastUpdate": "2026-12-01T08:01:10Z"},
			"uploadConfigKubeadm":  map[string]any{"checksum": "aa1b2c3d4e5f60718293a4b5c6d7e8f9", "lastUpdate": "2026-12-01T08:01:10Z"},
			"uploadConfigKubelet":  map[string]any{"checksum": "ba1b2c3d4e5f60718293a4b5c6d7e8f9", "lastUpdate": "2026-12-01T08:01:10Z"},
			"kubeletConfigMapName": "kubelet-config",
		},
		"storage": map[string]any{
			"dataStoreName": "default", "driver": "etcd",
			"certificate": map[string]any{"secretName": benchCluster + "-datastore-certificate", "checksum": "ca1b2c3d4e5f60718293a4b5c6d7e8f9", "lastUpdate": "2026-12-01T08:01:00Z"},
			"config":      map[string]any{"secretName": benchCluster + "-datastore-config", "checksum": "da1b2c3d4e5f60718293a4b5c6d7e8f9"},
			"setup":       map[string]any{"schema": benchNamespace + "_" + benchCluster, "user": benchNamespace + "_" + benchCluster, "lastUpdate": "2026-12-01T08:01:00Z", "checksum": "ea1b2c3d4e5f60718293a4b5c6d7e8f9"},
		},
		"kubernetesResources": map[string]any{
			"version": map[string]any{"version": "v1.35.0", "status": kamaji.StatusReady},
			"deployment": map[string]any{
				"name": benchCluster, "namespace": benchNamespace, "selector": "kamaji.clastix.io/name=" + benchCluster,
				"replicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(2), "updatedReplicas": int64(2),
				"observedGeneration": int64(3), "lastUpdate": "2026-12-01T08:01:30Z",
				"conditions": []any{condition("Available", "MinimumReplicasAvailable"), condition("Progressing", "NewReplicaSetAvailable")},
			},
			"service": map[string]any{
				"name": benchCluster, "namespace": benchNamespace, "port": int64(6443),
				"loadBalancer": map[string]any{},
			},
			"ingress": map[string]any{"name": "", "namespace": "", "loadBalancer": map[string]any{}},
		},
	}
	statusJSON, _ := json.Marshal(fieldsOf(map[string]any{"status": tcp.Object["status"]}))
	tcp.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: kube.FieldManager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: kamaji.GroupVersion.String(),
			Time: &metav1.Time{}, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(appliedJSON))},
		{Manager: "kamaji", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: kamaji.GroupVersion.String(),
			Time: &metav1.Time{}, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:metadata":{"f:finalizers":{".":{},"v:\"finalizer.kamaji.clastix.io\"":{}}}}`)},
		{Manager: "kamaji", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: kamaji.GroupVersion.String(),
			Time: &metav1.Time{}, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(statusJSON)), Subresource: "status"},
	})
	return tcp
}

// caSecret is Kamaji's CA Secret of the cluster holding certificate.
func caSecret(certificate string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: kamaji.CASecretName(benchCluster), Namespace: benchNamespace, UID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			ResourceVersion: "48001", Labels: map[string]string{"kamaji.clastix.io/name": benchCluster, "kamaji.clastix.io/component": "ca"},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{cluster.CACertificateKey: []byte(certificate), "ca.key": []byte("-----BEGIN RSA PRIVATE KEY-----\nnot for the state\n-----END RSA PRIVATE KEY-----\n")},
	}
}

const (
	benchCA         = "-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\ncm5ldGVzMB4XDTI2MTIwMTA4MDAwMFoXDTM2MTEyOTA4MDAwMFowFTETMBEGA1UE\n-----END CERTIFICATE-----\n"
	benchCAChecksum = "0c3b7a5f1d2e4f6a8b9c0d1e2f3a4b5c"
)

// clusterAPI is a management cluster holding a Ready cluster tenant-acme/prod and its CA.
func clusterAPI(caChecksum string) *memoryAPI {
	api := newMemoryAPI()
	api.put(benchTCPPath, readyTenantControlPlane(caChecksum).Object)
	api.put(benchCAPath, caSecret(benchCA))
	return api
}

// clusterConfigKeep are the attributes of the benchmark's configuration.
var clusterConfigKeep = []string{"namespace", "name", "version", "replicas", "network.service_type"}

// BenchmarkClusterRefresh is the provider's work for one qumulus_cluster in `terraform
// plan`'s refresh: UpgradeResourceState and ReadResource through the plugin protocol.
func BenchmarkClusterRefresh(b *testing.B) {
	api := clusterAPI(benchCAChecksum)
	p := newProtocolProvider(b, api)
	stored := p.importState(b, "qumulus_cluster", benchNamespace+"/"+benchCluster)
	benchmarkProvider(b, api, func() { p.refresh(b, "qumulus_cluster", stored) })
}

// BenchmarkClusterPlan is the provider's work for one unchanged qumulus_cluster in
// `terraform plan`: the refresh, then ValidateResourceConfig and PlanResourceChange.
func BenchmarkClusterPlan(b *testing.B) {
	api := clusterAPI(benchCAChecksum)
	p := newProtocolProvider(b, api)
	stored := p.importState(b, "qumulus_cluster", benchNamespace+"/"+benchCluster)
	refreshed, _ := p.refresh(b, "qumulus_cluster", stored)
	config := configOf(b, p.stateType("qumulus_cluster"), refreshed, clusterConfigKeep...)
	benchmarkProvider(b, api, func() {
		refreshed, private := p.refresh(b, "qumulus_cluster", stored)
		p.plan(b, "qumulus_cluster", config, refreshed, private)
	})
}

// TestClusterPlanUnchanged checks the benchmark's setup: an unchanged cluster plans no
// change.
func TestClusterPlanUnchanged(t *testing.T) {
	t.Parallel()
	p := newProtocolProvider(t, clusterAPI(benchCAChecksum))
	stored := p.importState(t, "qumulus_cluster", benchNamespace+"/"+benchCluster)
	refreshed, private := p.refresh(t, "qumulus_cluster", stored)
	typ := p.stateType("qumulus_cluster")
	planned := p.plan(t, "qumulus_cluster", configOf(t, typ, refreshed, clusterConfigKeep...), refreshed, private)
	want, _ := refreshed.Unmarshal(typ)
	got, _ := planned.PlannedState.Unmarshal(typ)
	if diffs, _ := want.Diff(got); len(diffs) > 0 || len(planned.RequiresReplace) > 0 {
		t.Errorf("planned changes to an unchanged cluster: %v, replace %v", diffs, planned.RequiresReplace)
	}
	if ca := attribute(t, typ, refreshed, "ca_certificate"); ca != benchCA {
		t.Errorf("ca_certificate = %q, want the CA Secret's ca.crt", ca)
	}
}

func attribute(tb testing.TB, t tftypes.Object, state *tfprotov6.DynamicValue, name string) string {
	tb.Helper()
	v, err := state.Unmarshal(t)
	if err != nil {
		tb.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		tb.Fatal(err)
	}
	var s string
	if err := attrs[name].As(&s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestClusterRefreshRequests counts the requests a refresh of one cluster makes: one GET
// of the TenantControlPlane, and a GET of the CA Secret only when Kamaji's status says
// the CA may not be the one in the state.
func TestClusterRefreshRequests(t *testing.T) {
	t.Parallel()
	const rotatedCA, rotatedChecksum = "-----BEGIN CERTIFICATE-----\nrotated\n-----END CERTIFICATE-----\n", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	tcpOnly := []string{"GET " + benchTCPPath}
	withSecret := []string{"GET " + benchTCPPath, "GET " + benchCAPath}
	cases := []struct {
		name string
		// checksum is status.certificates.ca.checksum.
		checksum string
		// setup, when set, changes the management cluster before the import, change after.
		setup, change func(api *memoryAPI)
		// forget drops the private state, as a state written by an earlier release has none.
		forget bool
		want   [][]string
		wantCA string
	}{
		{name: "unchanged", checksum: benchCAChecksum, want: [][]string{tcpOnly, tcpOnly}, wantCA: benchCA},
		{name: "CA rotated", checksum: benchCAChecksum, change: func(api *memoryAPI) {
			api.put(benchTCPPath, readyTenantControlPlane(rotatedChecksum).Object)
			api.put(benchCAPath, caSecret(rotatedCA))
		}, want: [][]string{withSecret, tcpOnly}, wantCA: rotatedCA},
		{name: "no private state", checksum: benchCAChecksum, forget: true, want: [][]string{withSecret, tcpOnly}, wantCA: benchCA},
		{name: "Kamaji without checksum", checksum: "", want: [][]string{withSecret, withSecret}, wantCA: benchCA},
		{name: "Kamaji's checksum of no data", checksum: "d41d8cd98f00b204e9800998ecf8427e", want: [][]string{withSecret, withSecret}, wantCA: benchCA},
		{name: "no CA yet", checksum: benchCAChecksum, setup: func(api *memoryAPI) {
			api.mu.Lock()
			delete(api.objects, benchCAPath)
			api.mu.Unlock()
		}, want: [][]string{withSecret, withSecret}, wantCA: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := clusterAPI(c.checksum)
			if c.setup != nil {
				c.setup(api)
			}
			p := newProtocolProvider(t, api)
			typ := p.stateType("qumulus_cluster")
			stored := p.importState(t, "qumulus_cluster", benchNamespace+"/"+benchCluster)
			if c.change != nil {
				c.change(api)
			}
			if c.forget {
				stored.private = nil
			}
			api.take()
			for i, want := range c.want {
				// Every plan starts the provider anew (and with it its kube.ReadCache).
				p := newProtocolProvider(t, api)
				api.take()
				refreshed, private := p.refresh(t, "qumulus_cluster", stored)
				if got := api.take(); !slices.Equal(got, want) {
					t.Errorf("refresh %d: requests %q, want %q", i+1, got, want)
				}
				if ca := attribute(t, typ, refreshed, "ca_certificate"); ca != c.wantCA {
					t.Errorf("refresh %d: ca_certificate = %q, want %q", i+1, ca, c.wantCA)
				}
				stored = storedState{json: stateJSON(t, typ, refreshed), private: private}
			}
		})
	}
}

// requestLog records the requests the provider makes to the management cluster, by the
// RPC and resource type they serve: each RPC's context carries the call its requests are
// recorded in, so that RPCs Terraform runs at the same time keep their requests apart. A
// watch runs under a context of its own: its requests go to the one RPC running then.
type requestLog struct {
	mu           sync.Mutex
	calls        map[string][]*rpcCall
	running      map[*rpcCall]bool
	unattributed []string
}

type rpcCall struct {
	mu       sync.Mutex
	requests []string
}

type rpcCallKey struct{}

func (l *requestLog) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		what := r.Method
		if r.URL.Query().Get("watch") != "" {
			what = "WATCH"
		}
		what += " " + r.URL.Path
		if r.URL.Query().Get("dryRun") != "" {
			what += "?dryRun=" + r.URL.Query().Get("dryRun")
		}
		call, ok := r.Context().Value(rpcCallKey{}).(*rpcCall)
		if !ok {
			l.mu.Lock()
			if len(l.running) == 1 {
				for c := range l.running {
					call, ok = c, true
				}
			}
			if !ok {
				l.unattributed = append(l.unattributed, what)
			}
			l.mu.Unlock()
		}
		if ok {
			call.mu.Lock()
			call.requests = append(call.requests, what)
			call.mu.Unlock()
		}
		return next.RoundTrip(r)
	})
}

// during runs call with a context that records its requests under rpc and typeName.
func during[T any](ctx context.Context, l *requestLog, rpc, typeName string, call func(context.Context) (T, error)) (T, error) {
	c := &rpcCall{}
	l.mu.Lock()
	l.calls[rpc+" "+typeName] = append(l.calls[rpc+" "+typeName], c)
	l.running[c] = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.running, c)
		l.mu.Unlock()
	}()
	return call(context.WithValue(ctx, rpcCallKey{}, c))
}

func (l *requestLog) of(rpc, typeName string) [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][]string
	for _, c := range l.calls[rpc+" "+typeName] {
		c.mu.Lock()
		out = append(out, slices.Clone(c.requests))
		c.mu.Unlock()
	}
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingServer records the requests of the RPCs that read and apply resources.
type countingServer struct {
	tfprotov6.ProviderServer
	log *requestLog
}

func (s countingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return during(ctx, s.log, "ReadResource", req.TypeName, func(ctx context.Context) (*tfprotov6.ReadResourceResponse, error) {
		return s.ProviderServer.ReadResource(ctx, req)
	})
}

func (s countingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return during(ctx, s.log, "PlanResourceChange", req.TypeName, func(ctx context.Context) (*tfprotov6.PlanResourceChangeResponse, error) {
		return s.ProviderServer.PlanResourceChange(ctx, req)
	})
}

func (s countingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	rpc := "Update"
	if prior, err := req.PriorState.Unmarshal(tftypes.DynamicPseudoType); err == nil && prior.IsNull() {
		rpc = "Create"
	} else if planned, err := req.PlannedState.Unmarshal(tftypes.DynamicPseudoType); err == nil && planned.IsNull() {
		rpc = "Delete"
	}
	return during(ctx, s.log, rpc, req.TypeName, func(ctx context.Context) (*tfprotov6.ApplyResourceChangeResponse, error) {
		return s.ProviderServer.ApplyResourceChange(ctx, req)
	})
}

// TestAccCluster_requests counts what a cluster costs the management cluster: a refresh is
// one GET of the TenantControlPlane; a create reads the namespace, checks the name is
// free, applies, watches until Ready and reads the CA; an update applies and watches. A
// plan without changes makes no request; the plan of a change reads the namespace and
// sends the TenantControlPlane once as a dry run (plan_dry_run), as does the plan of a
// create once its namespace exists (Terraform plans each resource again when it applies
// it, after what it depends on).
func TestAccCluster_requests(t *testing.T) {
	isolateEnv(t)
	if !acctest.Cluster(t).Simulated {
		t.Skip("the counts depend on the versions of the API server and of Kamaji: they are checked against the local management cluster")
	}
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	log := &requestLog{calls: map[string][]*rpcCall{}, running: map[*rpcCall]bool{}}
	factories := map[string]func() (tfprotov6.ProviderServer, error){
		"qumulus": func() (tfprotov6.ProviderServer, error) {
			server, err := providerserver.NewProtocol6WithError(&qumulusProvider{version: "test", wrapTransport: log.wrap})()
			return countingServer{ProviderServer: server, log: log}, err
		},
	}
	config := func(replicas int) string {
		return clusterConfig(t, tn, fmt.Sprintf(`
  name     = "prod"
  version  = "1.35.0"
  replicas = %d
  network  = { service_type = "ClusterIP" }
`, replicas))
	}
	tcps := fmt.Sprintf("/apis/%s/namespaces/%s/tenantcontrolplanes", kamaji.GroupVersion, ns)
	tcp := tcps + "/prod"
	namespace := "GET /api/v1/namespaces/" + ns
	ca := fmt.Sprintf("GET /api/v1/namespaces/%s/secrets/%s", ns, kamaji.CASecretName("prod"))
	expect := func(rpc string, want ...[]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := log.of(rpc, "qumulus_cluster"); !slices.EqualFunc(got, want, slices.Equal) {
				return fmt.Errorf("%s made requests %q, want %q", rpc, got, want)
			}
			return nil
		}
	}
	everyRead := func() resource.TestCheckFunc {
		return func(*terraform.State) error {
			reads := log.of("ReadResource", "qumulus_cluster")
			for i, r := range reads {
				if !slices.Equal(r, []string{"GET " + tcp}) {
					return fmt.Errorf("read %d of %d made requests %q, want only GET %s", i+1, len(reads), r, tcp)
				}
			}
			return nil
		}
	}
	dryRun := "PATCH " + tcp + "?dryRun=All"
	// plansBefore[i] is how many plans of the cluster were made before step i+1.
	var plansBefore []int
	var tenantPlansBefore []int
	mark := func() {
		plansBefore = append(plansBefore, len(log.of("PlanResourceChange", "qumulus_cluster")))
		tenantPlansBefore = append(tenantPlansBefore, len(log.of("PlanResourceChange", "qumulus_tenant")))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		CheckDestroy:             checkClustersDestroyed(t),
		Steps: []resource.TestStep{
			{
				PreConfig: mark,
				Config:    config(2),
				Check: resource.ComposeTestCheckFunc(
					expect("Create", []string{namespace, "GET " + tcp, "PATCH " + tcp, "WATCH " + tcps, ca}),
					resource.TestCheckResourceAttrSet("qumulus_cluster.test", "ca_certificate"),
				),
			},
			// A refresh of the unchanged cluster, and the plan after it: one GET each time.
			{PreConfig: mark, Config: config(2), PlanOnly: true, Check: everyRead()},
			{
				PreConfig: mark,
				Config:    config(3),
				Check: resource.ComposeTestCheckFunc(
					expect("Update", []string{namespace, "PATCH " + tcp, "WATCH " + tcps}),
					resource.TestCheckResourceAttrSet("qumulus_cluster.test", "ca_certificate"),
					everyRead(),
				),
			},
			{PreConfig: mark, Config: config(3), PlanOnly: true, Check: everyRead()},
		},
	})
	plans := log.of("PlanResourceChange", "qumulus_cluster")
	mark()
	dryRuns, unchangedPlans, unchangedRequests := 0, 0, 0
	for i, p := range plans {
		step := 0
		for step+1 < len(plansBefore) && plansBefore[step+1] <= i {
			step++
		}
		if step == 1 || step == 3 {
			unchangedPlans++
			unchangedRequests += len(p)
		}
		switch {
		case len(p) == 0:
		case (step == 1 || step == 3) && len(p) > 0:
			t.Errorf("plan %d (step %d, no changes) made requests %q, want none", i+1, step+1, p)
		case slices.Equal(p, []string{namespace}):
			// A create whose namespace the same apply makes: nothing to check yet.
		case slices.Equal(p, []string{namespace, dryRun}):
			dryRuns++
		default:
			t.Errorf("plan %d (step %d) made requests %q, want none, the namespace, or the namespace and %s", i+1, step+1, p, dryRun)
		}
	}
	// The tenant changes only in the first step: its later plans make no request.
	for i, p := range log.of("PlanResourceChange", "qumulus_tenant")[tenantPlansBefore[1]:] {
		if len(p) > 0 {
			t.Errorf("plan %d of the unchanged tenant made requests %q, want none", tenantPlansBefore[1]+i+1, p)
		}
	}
	t.Logf("plan dry run: %d plans without changes made %d requests, dry run or other; %d plans with changes sent %d dry runs",
		unchangedPlans, unchangedRequests, len(plans)-unchangedPlans, dryRuns)
	if dryRuns < 2 {
		t.Errorf("%d plans sent a dry run, want at least the create's (once its namespace exists) and the update's", dryRuns)
	}
	if reads := log.of("ReadResource", "qumulus_cluster"); len(reads) < 3 {
		t.Errorf("only %d refreshes of the cluster were counted", len(reads))
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.unattributed) > 0 {
		t.Errorf("requests of no single RPC: %q", log.unattributed)
	}
}
