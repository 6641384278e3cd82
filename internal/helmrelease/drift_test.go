package helmrelease

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
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

const (
	manifestConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: etc\ndata: {a: b}\n"
	// Jobs finish and may be cleaned up: Drift does not look at them.
	manifestJob = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: db-sync\n"
)

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
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "etc"}, Data: map[string]string{"a": "b"}},
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
	allLists := []string{"list configmaps openstack", "list daemonsets openstack", "list deployments openstack", "list statefulsets openstack"}

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
			lists: []string{"list configmaps openstack", "list deployments openstack", "list statefulsets openstack"}},
		{name: "DaemonSet missing", rels: []*Release{keystone, ovs}, live: without(healthy, "DaemonSet", "openvswitch"), lists: allLists,
			want: []string{"helm release openvswitch: DaemonSet openstack/openvswitch: missing"}},
		{name: "sorted by release then object", rels: []*Release{ovs, keystone}, live: nil, lists: allLists,
			want: []string{
				"helm release keystone: ConfigMap openstack/etc: missing",
				"helm release keystone: Deployment openstack/keystone-api: missing",
				"helm release keystone: StatefulSet openstack/keystone-db: missing",
				"helm release openvswitch: DaemonSet openstack/openvswitch: missing",
				"helm release openvswitch: Deployment openstack/ovs-exporter: missing",
			}},
		{name: "only kinds the manifests have are listed", rels: []*Release{{Name: "etc", Manifest: manifest(manifestJob, manifestWorkload("DaemonSet", "", "agent", ""))}},
			live: []runtime.Object{liveDaemonSet(ns, "agent")}, lists: []string{"list daemonsets openstack"}},
		{name: "nothing compared, no lists", rels: []*Release{{Name: "etc", Manifest: manifest(manifestJob)}, nil}, live: healthy},
		{name: "other namespaces are listed too", rels: []*Release{keystone, {Name: "agent", Manifest: manifest(
			manifestWorkload("DaemonSet", "kube-system", "openvswitch", ""),
			manifestWorkload("Deployment", "kube-system", "coredns", "2"),
		)}}, live: with(healthy, liveDeployment("kube-system", "coredns", ptr[int32](4))),
			lists: []string{"list configmaps openstack", "list daemonsets kube-system", "list deployments kube-system", "list deployments openstack", "list statefulsets openstack"},
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

// TestDriftEdits: fields the manifest sets and the live object has otherwise are named,
// values of Secrets and ConfigMaps never; a release as installed shows nothing.
func TestDriftEdits(t *testing.T) {
	t.Parallel()
	const ns = "openstack"
	rel := &Release{Name: "keystone", Namespace: ns, Manifest: manifest(
		manifestWorkload("Deployment", "", "keystone-api", "1")+
			"  template:\n    spec:\n      initContainers: [{name: init, image: \"registry.invalid/init:1\"}]\n"+
			"      containers: [{name: api, image: \"registry.invalid/api:1\"}]\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: keystone-api}\nspec:\n  ports:\n  - {name: ks-pub, port: 5000, targetPort: 5000}\n  - {port: 80, targetPort: http}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: keystone-etc}\ndata: {a.conf: "+base64.StdEncoding.EncodeToString([]byte("secret-a"))+"}\nstringData: {b.conf: secret-b}\n",
		manifestConfigMap,
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]\n",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: r}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects: [{kind: ServiceAccount, name: keystone}]\n",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: keystone}\n",
		// Last, a block scalar ends the manifest: its line break is part of the value.
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bin}\ndata:\n  run.sh: |\n    #!/bin/sh\n    exit 0\n",
	)}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	deployment := func(init, api string) *appsv1.Deployment {
		d := liveDeployment(ns, "keystone-api", ptr[int32](1))
		d.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: init}}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "api", Image: api}, {Name: "sidecar", Image: "added/by:webhook"}}
		return d
	}
	service := func(port int32, target intstr.IntOrString) *corev1.Service {
		return &corev1.Service{ObjectMeta: meta("keystone-api"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{
			{Name: "ks-pub", Port: port, TargetPort: intstr.FromInt32(5000), Protocol: corev1.ProtocolTCP},
			{Port: 80, TargetPort: target, Protocol: corev1.ProtocolTCP},
		}}}
	}
	secret := func(a, b string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: meta("keystone-etc"), Data: map[string][]byte{"a.conf": []byte(a), "b.conf": []byte(b), "added": []byte("x")}}
	}
	role := func(verb string) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: meta("r"), Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{verb}}}}
	}
	binding := func(subject string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: meta("r"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: subject}}}
	}
	// Helm's record of a release is a Secret too: never read by Drift.
	record := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keystone-etc-record", Labels: map[string]string{"owner": "helm"}}}
	installed := []runtime.Object{
		deployment("registry.invalid/init:1", "registry.invalid/api:1"), service(5000, intstr.FromString("http")),
		secret("secret-a", "secret-b"), &corev1.ConfigMap{ObjectMeta: meta("etc"), Data: map[string]string{"a": "b", "added": "c"}},
		role("get"), binding("keystone"), &corev1.ServiceAccount{ObjectMeta: meta("keystone")}, record,
		&corev1.ConfigMap{ObjectMeta: meta("bin"), Data: map[string]string{"run.sh": "#!/bin/sh\nexit 0\n"}},
	}
	replace := func(objs ...runtime.Object) []runtime.Object {
		out := slices.Clone(installed)
		for _, o := range objs {
			for i, cur := range out {
				if fmt.Sprintf("%T", cur) == fmt.Sprintf("%T", o) && cur.(metav1.Object).GetName() == o.(metav1.Object).GetName() {
					out[i] = o
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		live []runtime.Object
		want []string
	}{
		{name: "as installed", live: installed},
		{name: "images", live: replace(deployment("registry.invalid/init:2", "registry.invalid/edited:1")),
			want: []string{"Deployment openstack/keystone-api: image of container init, image of container api changed"}},
		{name: "service ports", live: replace(service(5999, intstr.FromInt32(8080))),
			want: []string{"Service openstack/keystone-api: port 0 port, port 1 targetPort changed"}},
		{name: "secret data", live: replace(secret("edited", "secret-b")),
			want: []string{"Secret openstack/keystone-etc: data key a.conf changed"}},
		{name: "secret stringData", live: replace(secret("secret-a", "edited")),
			want: []string{"Secret openstack/keystone-etc: data key b.conf changed"}},
		{name: "configmap data", live: replace(&corev1.ConfigMap{ObjectMeta: meta("etc"), Data: map[string]string{"a": "edited"}}),
			want: []string{"ConfigMap openstack/etc: data key a changed"}},
		{name: "role rules", live: replace(role("delete")), want: []string{"Role openstack/r: rules changed"}},
		{name: "binding subjects", live: replace(binding("mallory")), want: []string{"RoleBinding openstack/r: subjects changed"}},
		{name: "service account missing", live: slices.DeleteFunc(slices.Clone(installed), func(o runtime.Object) bool {
			_, ok := o.(*corev1.ServiceAccount)
			return ok
		}), want: []string{"ServiceAccount openstack/keystone: missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := fake.NewClientset(tc.live...)
			d := &Driver{Clients: &kube.Clients{Kubernetes: cs}, Namespace: ns}
			drift, err := d.Drift(t.Context(), []*Release{rel})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, 0, len(drift))
			for _, dr := range drift {
				got = append(got, dr.Object+": "+dr.Problem)
				for _, v := range []string{"secret-a", "secret-b", "edited"} {
					if strings.Contains(dr.Problem, v) {
						t.Errorf("the drift of %s shows a value: %s", dr.Object, dr.Problem)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("drift:\n got  %q\n want %q", got, tc.want)
			}
			for _, a := range cs.Actions() {
				if la, ok := a.(k8stesting.ListAction); ok && la.GetResource().Resource == "secrets" {
					if sel := la.GetListRestrictions().Labels.String(); sel != "owner!=helm" {
						t.Errorf("Secrets listed with selector %q, want owner!=helm", sel)
					}
				}
			}
		})
	}
}
