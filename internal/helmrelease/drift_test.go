package helmrelease

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

func manifest(docs ...string) string {
	return "---\n" + strings.Join(docs, "\n---\n")
}

func manifestWorkload(kind, namespace, name, replicas string) string {
	s := fmt.Sprintf("# Source: svc/templates/%s.yaml\napiVersion: apps/v1\nkind: %s\nmetadata:\n  name: %s\n", strings.ToLower(kind), kind, name)
	if namespace != "" {
		s += "  namespace: " + namespace + "\n"
	}
	s += "spec:\n  selector: {matchLabels: {app: " + name + "}}\n"
	if replicas != "" {
		s += "  replicas: " + replicas + "\n"
	}
	return s
}

const manifestConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: etc\ndata: {a: b}\n"

func ptr[T any](v T) *T { return &v }

func liveDeployment(ns, name string, replicas *int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{Replicas: replicas}}
}

func liveStatefulSet(ns, name string, replicas *int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.StatefulSetSpec{Replicas: replicas}}
}

func liveDaemonSet(ns, name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestDrift(t *testing.T) {
	t.Parallel()
	const ns = "openstack"
	keystone := &Release{Name: "keystone", Namespace: ns, Manifest: manifest(
		manifestConfigMap,
		manifestWorkload("Deployment", "", "keystone-api", "1"),
		manifestWorkload("StatefulSet", "", "keystone-db", ""),
	)}
	ovs := &Release{Name: "openvswitch", Namespace: ns, Manifest: manifest(
		manifestWorkload("DaemonSet", ns, "openvswitch", ""),
		manifestWorkload("Deployment", "", "ovs-exporter", "2"),
	)}
	healthy := []runtime.Object{
		liveDeployment(ns, "keystone-api", ptr[int32](1)),
		liveStatefulSet(ns, "keystone-db", ptr[int32](1)),
		liveDaemonSet(ns, "openvswitch"),
		liveDeployment(ns, "ovs-exporter", ptr[int32](2)),
		// Objects of no release, and a namesake in another namespace, do not matter.
		liveDeployment(ns, "unrelated", ptr[int32](5)),
		liveDaemonSet("kube-system", "openvswitch"),
	}
	without := func(objs []runtime.Object, kind, name string) []runtime.Object {
		return slices.DeleteFunc(slices.Clone(objs), func(o runtime.Object) bool {
			m := o.(metav1.Object)
			return m.GetNamespace() == ns && m.GetName() == name && strings.Contains(fmt.Sprintf("%T", o), kind)
		})
	}
	with := func(objs []runtime.Object, add ...runtime.Object) []runtime.Object {
		out := slices.Clone(objs)
		for _, a := range add {
			am := a.(metav1.Object)
			out = slices.DeleteFunc(out, func(o runtime.Object) bool {
				m := o.(metav1.Object)
				return fmt.Sprintf("%T", o) == fmt.Sprintf("%T", a) && m.GetNamespace() == am.GetNamespace() && m.GetName() == am.GetName()
			})
			out = append(out, a)
		}
		return out
	}
	allLists := []string{"list daemonsets openstack", "list deployments openstack", "list statefulsets openstack"}

	for _, tc := range []struct {
		name  string
		rels  []*Release
		live  []runtime.Object
		want  []string
		lists []string
	}{
		{name: "no drift", rels: []*Release{keystone, ovs}, live: healthy, lists: allLists},
		{name: "missing Deployment", rels: []*Release{keystone, ovs}, live: without(healthy, "Deployment", "keystone-api"), lists: allLists,
			want: []string{"helm release keystone: Deployment openstack/keystone-api: missing"}},
		{name: "scaled Deployment", rels: []*Release{ovs, keystone}, live: with(healthy, liveDeployment(ns, "keystone-api", ptr[int32](3))), lists: allLists,
			want: []string{"helm release keystone: Deployment openstack/keystone-api: 3 replicas, the release has 1"}},
		{name: "StatefulSet replicas default to 1", rels: []*Release{keystone, ovs}, live: with(healthy, liveStatefulSet(ns, "keystone-db", ptr[int32](0))), lists: allLists,
			want: []string{"helm release keystone: StatefulSet openstack/keystone-db: 0 replicas, the release has 1"}},
		{name: "live replicas unset mean 1", rels: []*Release{keystone}, live: with(healthy, liveStatefulSet(ns, "keystone-db", nil)),
			lists: []string{"list deployments openstack", "list statefulsets openstack"}},
		{name: "DaemonSet missing", rels: []*Release{keystone, ovs}, live: without(healthy, "DaemonSet", "openvswitch"), lists: allLists,
			want: []string{"helm release openvswitch: DaemonSet openstack/openvswitch: missing"}},
		{name: "sorted by release then object", rels: []*Release{ovs, keystone}, live: nil, lists: allLists,
			want: []string{
				"helm release keystone: Deployment openstack/keystone-api: missing",
				"helm release keystone: StatefulSet openstack/keystone-db: missing",
				"helm release openvswitch: DaemonSet openstack/openvswitch: missing",
				"helm release openvswitch: Deployment openstack/ovs-exporter: missing",
			}},
		{name: "only kinds the manifests have are listed", rels: []*Release{{Name: "etc", Manifest: manifest(manifestConfigMap, manifestWorkload("DaemonSet", "", "agent", ""))}},
			live: []runtime.Object{liveDaemonSet(ns, "agent")}, lists: []string{"list daemonsets openstack"}},
		{name: "no workloads, no lists", rels: []*Release{{Name: "etc", Manifest: manifest(manifestConfigMap)}, nil}, live: healthy},
		{name: "other namespaces are listed too", rels: []*Release{keystone, {Name: "agent", Manifest: manifest(
			manifestWorkload("DaemonSet", "kube-system", "openvswitch", ""),
			manifestWorkload("Deployment", "kube-system", "coredns", "2"),
		)}}, live: with(healthy, liveDeployment("kube-system", "coredns", ptr[int32](4))),
			lists: []string{"list daemonsets kube-system", "list deployments kube-system", "list deployments openstack", "list statefulsets openstack"},
			want:  []string{"helm release agent: Deployment kube-system/coredns: 4 replicas, the release has 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := fake.NewClientset(tc.live...)
			d := &Driver{Clients: &kube.Clients{Kubernetes: cs}, Namespace: ns}
			drift, err := d.Drift(t.Context(), tc.rels)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, 0, len(drift))
			for _, dr := range drift {
				got = append(got, dr.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("drift:\n got  %q\n want %q", got, tc.want)
			}
			var lists []string
			for _, a := range cs.Actions() {
				if la, ok := a.(k8stesting.ListAction); ok {
					lists = append(lists, fmt.Sprintf("list %s %s", la.GetResource().Resource, la.GetNamespace()))
				} else {
					t.Errorf("unexpected request %s %s", a.GetVerb(), a.GetResource().Resource)
				}
			}
			slices.Sort(lists)
			if !slices.Equal(lists, tc.lists) {
				t.Errorf("requests:\n got  %q\n want %q", lists, tc.lists)
			}
		})
	}
}

func TestDriftManifestReplicas(t *testing.T) {
	t.Parallel()
	d := &Driver{Namespace: "openstack"}
	ws, err := d.workloads(&Release{Name: "r", Manifest: manifest(
		manifestWorkload("Deployment", "", "a", "3"),
		manifestWorkload("Deployment", "", "a", "3"), // a duplicate counts once
		manifestWorkload("StatefulSet", "", "b", "null"),
		manifestWorkload("DaemonSet", "", "c", ""),
		"apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\n",
		"apiVersion: apps/v1\nkind: ControllerRevision\nmetadata: {name: rev}\n",
	)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		r := "-"
		if w.replicas != nil {
			r = fmt.Sprint(*w.replicas)
		}
		got = append(got, w.object()+" "+r)
	}
	want := []string{"Deployment openstack/a 3", "StatefulSet openstack/b 1", "DaemonSet openstack/c -"}
	if !slices.Equal(got, want) {
		t.Errorf("workloads: %q, want %q", got, want)
	}
	if _, err := d.workloads(&Release{Name: "r", Manifest: manifestWorkload("Deployment", "", "a", "1.5")}); err == nil || !strings.Contains(err.Error(), "not a whole number") {
		t.Errorf("fractional replicas: %v", err)
	}
}
