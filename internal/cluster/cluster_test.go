package cluster

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

func ptr64(i int64) *int64 { return &i }

func TestVersionRules(t *testing.T) {
	cases := []struct {
		from, to string
		want     string // "" for allowed
	}{
		{"v1.34.2", "v1.34.3", ""},
		{"v1.34.2", "v1.35.0", ""},
		{"v1.34.2", "v1.34.1", "downgrading"},
		{"v1.34.2", "v1.33.9", "downgrading"},
		{"v1.34.2", "v1.36.0", "skips a minor version"},
		{"v1.34.2", "v2.0.0", "skips a minor version"},
	}
	for _, c := range cases {
		from, _ := kube.ParseVersion(c.from)
		to, _ := kube.ParseVersion(c.to)
		err := CheckUpgrade(from, to)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckUpgrade(%s, %s) = %v, want %q", c.from, c.to, err, c.want)
		}
	}
	for v, ok := range map[string]bool{"v1.36.9": true, "v1.35.0": true, "v1.37.0": false, "v2.0.0": false} {
		parsed, _ := kube.ParseVersion(v)
		if err := CheckSupported(parsed); (err == nil) != ok {
			t.Errorf("CheckSupported(%s) = %v", v, err)
		}
	}
}

func fullSpec() Spec {
	return Spec{
		Namespace: "tenant-acme", Name: "prod", Version: "v1.35.0", Replicas: ptr64(3),
		DataStore: "etcd-a", Tenant: "acme",
		Labels:      map[string]string{"team": "infra"},
		Annotations: map[string]string{"example.com/owner": "ops"},
		Network: Network{
			ServiceType: "LoadBalancer", ServiceAnnotations: map[string]string{"lb": "internal"},
			Address: "203.0.113.10", Port: ptr64(6443), CertSANs: []string{"api.acme.example"},
			ServiceCIDRs: []string{"10.96.0.0/16", "fd00::/112"}, PodCIDRs: []string{"10.244.0.0/16"},
			ClusterDomain: "acme.internal", LoadBalancerClass: "metallb", LoadBalancerSourceRanges: []string{"0.0.0.0/0"},
		},
		Addons: Addons{
			CoreDNS:      &ImageAddon{},
			KubeProxy:    &ImageAddon{ImageTag: "v1.35.0"},
			Konnectivity: &Konnectivity{AgentMode: "Deployment", ServerImage: "proxy-server"},
		},
		APIServer: Component{ExtraArgs: []string{"--v=2"}, Requests: map[string]resource.Quantity{"cpu": resource.MustParse("250m")}},
		Kubelet: Kubelet{
			PreferredAddressTypes: []string{"InternalIP"},
			ConfigPatches:         []JSONPatch{{Op: "replace", Path: "/cgroupDriver", Value: json.RawMessage(`"systemd"`)}},
		},
	}
}

func field(t *testing.T, o *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, found, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if !found || err != nil {
		t.Fatalf("%s: %s not set", o.GetKind(), strings.Join(path, "."))
	}
	return v
}

func TestTenantControlPlaneObject(t *testing.T) {
	tcp := fullSpec().TenantControlPlane()
	if tcp.GetAPIVersion() != "kamaji.clastix.io/v1alpha1" || tcp.GetKind() != "TenantControlPlane" {
		t.Fatalf("type %s %s", tcp.GetAPIVersion(), tcp.GetKind())
	}
	want := map[string]any{
		"spec.kubernetes.version":                                       "v1.35.0",
		"spec.controlPlane.deployment.replicas":                         int64(3),
		"spec.controlPlane.service.serviceType":                         "LoadBalancer",
		"spec.networkProfile.serviceCidr":                               "10.96.0.0/16",
		"spec.networkProfile.podCidr":                                   "10.244.0.0/16",
		"spec.networkProfile.clusterDomain":                             "acme.internal",
		"spec.dataStore":                                                "etcd-a",
		"spec.addons.kubeProxy.imageTag":                                "v1.35.0",
		"spec.addons.konnectivity.agent.mode":                           "Deployment",
		"spec.addons.konnectivity.server.port":                          int64(DefaultKonnectivityPort),
		"spec.controlPlane.deployment.resources.apiServer.requests.cpu": "250m",
		"metadata.labels.qumulus\\.io/cluster":                          "prod",
	}
	for p, w := range want {
		parts := strings.Split(strings.ReplaceAll(p, "\\.", "\x00"), ".")
		for i := range parts {
			parts[i] = strings.ReplaceAll(parts[i], "\x00", ".")
		}
		if got := field(t, tcp, parts...); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", p, got, w)
		}
	}
	if got := field(t, tcp, "spec", "networkProfile", "serviceCidrs"); len(got.([]any)) != 2 {
		t.Errorf("serviceCidrs = %v", got)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(tcp.Object, "spec", "networkProfile", "podCidrs"); found {
		t.Error("a single-stack pod range went to podCidrs, which Kamaji before 26.x does not know")
	}

	// The minimum object still carries what the 26.x CEL rules need.
	minimal := Spec{Namespace: "n", Name: "c", Version: "v1.35.0"}.TenantControlPlane()
	for _, p := range [][]string{{"spec", "networkProfile"}, {"spec", "kubernetes", "kubelet"}, {"spec", "controlPlane", "service", "serviceType"}} {
		field(t, minimal, p...)
	}
	for _, p := range [][]string{{"spec", "addons"}, {"spec", "dataStore"}, {"spec", "controlPlane", "deployment"}, {"metadata", "annotations"}} {
		if _, found, _ := unstructured.NestedFieldNoCopy(minimal.Object, p...); found {
			t.Errorf("%s sent though not configured", strings.Join(p, "."))
		}
	}
}

func TestRoundTripBare(t *testing.T) {
	s := fullSpec()
	tcp := s.TenantControlPlane()
	got := specFromTenantControlPlane(tcp)
	// Labels and annotations are only read back when the provider applied them
	// (managedFields); the object built here has none.
	got.Labels, got.Annotations = s.Labels, s.Annotations
	// The konnectivity server port is written with its default.
	want := s
	konnectivity := *s.Addons.Konnectivity
	konnectivity.ServerPort = ptr64(DefaultKonnectivityPort)
	want.Addons.Konnectivity = &konnectivity
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n got %+v\nwant %+v", got, want)
	}
	if q := got.APIServer.Requests["cpu"]; q.Cmp(resource.MustParse("0.25")) != 0 {
		t.Errorf("requests %v", got.APIServer.Requests)
	}
}

func TestRoundTripClusterAPI(t *testing.T) {
	s := fullSpec()
	s.ClusterAPI = &ClusterAPI{Infrastructure: &Reference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "OpenStackCluster", Name: "prod"}}
	objs := s.Objects()
	if len(objs) != 2 || objs[0].GetKind() != "KamajiControlPlane" || objs[1].GetKind() != "Cluster" {
		t.Fatalf("objects %v", objs)
	}
	kcp, cl := objs[0], objs[1]
	if field(t, cl, "spec", "controlPlaneRef", "name") != "prod" || field(t, cl, "spec", "clusterNetwork", "serviceDomain") != "acme.internal" {
		t.Error("cluster network or control plane reference")
	}
	got := specFromClusterAPI(cl, kcp)
	if !reflect.DeepEqual(got.Network, s.Network) {
		t.Errorf("network\n got %#v\nwant %#v", got.Network, s.Network)
	}
	if !reflect.DeepEqual(got.ClusterAPI, s.ClusterAPI) || got.Version != s.Version || *got.Replicas != 3 {
		t.Errorf("read back %#v", got)
	}
}

func TestReady(t *testing.T) {
	want := Spec{Version: "v1.35.0", Replicas: ptr64(2)}
	ready := Status{Found: true, Phase: "Ready", InstalledVersion: "v1.35.0", RequestedVersion: "1.35.0", SpecReplicas: ptr64(2),
		Deployment: DeploymentStatus{Reported: true, Replicas: 2, Ready: 2, Available: 2, Updated: 2},
		Generation: 3, ObservedGeneration: 3, ObservedReported: true, KubeconfigSecret: "c-admin-kubeconfig"}
	if !ready.Ready(want) {
		t.Fatalf("not ready: %s", ready.Describe(want))
	}
	for name, mutate := range map[string]func(*Status){
		"upgrading":           func(s *Status) { s.Phase = "Upgrading" },
		"old version":         func(s *Status) { s.InstalledVersion = "v1.34.0" },
		"stale generation":    func(s *Status) { s.ObservedGeneration = 2 },
		"no kubeconfig":       func(s *Status) { s.KubeconfigSecret = "" },
		"spec not scaled yet": func(s *Status) { s.SpecReplicas = ptr64(3) },
		// The spec says 2 but the pods lag behind it: what Kamaji reports decides.
		"pod not ready":        func(s *Status) { s.Deployment.Ready = 1 },
		"pod not available":    func(s *Status) { s.Deployment.Available = 1 },
		"pod of old template":  func(s *Status) { s.Deployment.Updated = 1 },
		"old pod still there":  func(s *Status) { s.Deployment.Replicas = 3 },
		"no Deployment status": func(s *Status) { s.Deployment = DeploymentStatus{} },
		"being deleted":        func(s *Status) { s.Deleting = true },
		"missing":              func(s *Status) { *s = Status{} },
		"spec not yet moved":   func(s *Status) { s.RequestedVersion = "v1.34.0" },
	} {
		s := ready
		mutate(&s)
		if s.Ready(want) {
			t.Errorf("%s: reported ready", name)
		}
		if s.Describe(want) == "" {
			t.Errorf("%s: no description", name)
		}
	}
	// Kamaji releases whose CRD has no observedGeneration.
	old := ready
	old.ObservedReported, old.ObservedGeneration = false, 0
	if !old.Ready(want) {
		t.Error("a missing observedGeneration must count as not reported")
	}
	// A scale from 2 to 3: the TenantControlPlane's spec already says 3 and Kamaji has seen
	// it, but only 2 pods run until the third is ready, available and updated.
	scaling := ready
	scaling.SpecReplicas = ptr64(3)
	three := Spec{Version: "v1.35.0", Replicas: ptr64(3)}
	for _, d := range []DeploymentStatus{
		{Reported: true, Replicas: 2, Ready: 2, Available: 2, Updated: 2},
		{Reported: true, Replicas: 3, Ready: 2, Available: 2, Updated: 3},
		{Reported: true, Replicas: 3, Ready: 3, Available: 2, Updated: 3},
	} {
		scaling.Deployment = d
		if scaling.Ready(three) {
			t.Errorf("scaling to 3 with pods %+v reported ready", d)
		}
		if !strings.Contains(scaling.Describe(three), "control plane pods") {
			t.Errorf("scaling: %q does not mention the pods", scaling.Describe(three))
		}
	}
	scaling.Deployment = DeploymentStatus{Reported: true, Replicas: 3, Ready: 3, Available: 3, Updated: 3}
	if !scaling.Ready(three) {
		t.Errorf("3 pods ready, available and updated: %s", scaling.Describe(three))
	}
	// Unset replicas: Kamaji's default in the TenantControlPlane's spec is the target.
	if !ready.Ready(Spec{Version: "v1.35.0"}) {
		t.Error("unset replicas: 2 of the defaulted 2 pods ready, want ready")
	}
	sleeping := ready
	sleeping.Phase, sleeping.SpecReplicas, sleeping.Deployment = "Sleeping", ptr64(0), DeploymentStatus{Reported: true}
	if !sleeping.Ready(Spec{Version: "v1.35.0", Replicas: ptr64(0)}) || sleeping.Ready(Spec{Version: "v1.35.0"}) {
		t.Error("Sleeping is ready only when scaled to zero")
	}
}

// TestObservePartialClusterAPI: in Cluster API mode one of the Cluster and the
// KamajiControlPlane deleted (or being deleted) is named as missing, and the cluster is
// gone only when neither is left.
func TestObservePartialClusterAPI(t *testing.T) {
	t.Parallel()
	s := fullSpec()
	s.ClusterAPI = &ClusterAPI{}
	objs := s.Objects()
	kcp, cl := objs[0], objs[1]
	deleting := func(o *unstructured.Unstructured) *unstructured.Unstructured {
		o = o.DeepCopy()
		now := metav1.Now()
		o.SetDeletionTimestamp(&now)
		o.SetFinalizers([]string{"test"})
		return o
	}
	k := s.Key()
	for _, tc := range []struct {
		name    string
		objs    []runtime.Object
		missing []string
		gone    bool
	}{
		{name: "both", objs: []runtime.Object{kcp, cl}},
		{name: "no KamajiControlPlane", objs: []runtime.Object{cl}, missing: []string{"KamajiControlPlane " + k.Namespace + "/" + k.Name}},
		{name: "no Cluster", objs: []runtime.Object{kcp}, missing: []string{"Cluster " + k.Namespace + "/" + k.Name}},
		{name: "KamajiControlPlane being deleted", objs: []runtime.Object{deleting(kcp), cl}, missing: []string{"KamajiControlPlane " + k.Namespace + "/" + k.Name}},
		{name: "neither", gone: true},
		{name: "Cluster being deleted, no KamajiControlPlane", objs: []runtime.Object{deleting(cl)}, gone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
				tenantControlPlane.gvr: "TenantControlPlaneList", kamajiControlPlane.gvr: "KamajiControlPlaneList", clusterAPICluster.gvr: "ClusterList",
			}, tc.objs...)
			c := &Client{Dynamic: dyn}
			o, err := c.Observe(t.Context(), k, KnownCA{})
			if tc.gone {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Observe: %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o.Missing, tc.missing) {
				t.Errorf("missing %q, want %q", o.Missing, tc.missing)
			}
		})
	}
}
