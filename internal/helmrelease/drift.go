package helmrelease

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v3/pkg/releaseutil"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Drift is what differs between a release's manifest and the live objects.
type Drift struct {
	// Release is the release name.
	Release string
	// Object names the object: "Deployment openstack/keystone-api".
	Object string
	// Problem is "missing", "3 replicas, the release has 1", or "image of container api
	// changed". It never holds a value of a Secret or ConfigMap.
	Problem string
}

func (d Drift) String() string {
	return fmt.Sprintf("helm release %s: %s: %s", d.Release, d.Object, d.Problem)
}

// The kinds Drift looks at, all namespaced. Other kinds of a manifest (Jobs and Pods,
// which finish and may be cleaned up by design, and the kinds of CRDs) are not compared.
const (
	kindDeployment     = "Deployment"
	kindStatefulSet    = "StatefulSet"
	kindDaemonSet      = "DaemonSet"
	kindService        = "Service"
	kindSecret         = "Secret"
	kindConfigMap      = "ConfigMap"
	kindServiceAccount = "ServiceAccount"
	kindRole           = "Role"
	kindRoleBinding    = "RoleBinding"
)

// compared maps each kind Drift looks at to its API group.
var compared = map[string]string{
	kindDeployment: "apps", kindStatefulSet: "apps", kindDaemonSet: "apps",
	kindService: "", kindSecret: "", kindConfigMap: "", kindServiceAccount: "",
	kindRole: "rbac.authorization.k8s.io", kindRoleBinding: "rbac.authorization.k8s.io",
}

// workload is one object of a release's manifest that Drift compares.
type workload struct {
	release, kind, namespace, name string
	// replicas is spec.replicas (1 when the manifest has none) of a Deployment or
	// StatefulSet; nil for the other kinds.
	replicas *int64
	// manifest is the object as the release has it.
	manifest map[string]any
}

func (w workload) object() string { return fmt.Sprintf("%s %s/%s", w.kind, w.namespace, w.name) }

// liveKey is where Drift lists: one list per kind and namespace.
type liveKey struct{ kind, namespace string }

// Drift compares the objects of the releases' manifests (not their hooks) with the live
// ones: one list request per kind and namespace for all releases together (objects
// without a namespace are in d.Namespace), no chart download, no template rendering. It
// looks at Deployments, StatefulSets, DaemonSets, Services, Secrets, ConfigMaps,
// ServiceAccounts, Roles and RoleBindings. An object that does not exist is "missing";
// a Deployment or StatefulSet whose live spec.replicas differs from the manifest's (none
// means 1) is "N replicas, the release has M"; and a field the manifest sets that the
// live object has otherwise is named (see changedFields): container images, a Service's
// type and ports, the keys of a Secret's or ConfigMap's data (never their values), a
// Role's rules, a RoleBinding's subjects and role. A kind is listed only when some
// manifest has it. The result is sorted by release, then object.
func (d *Driver) Drift(ctx context.Context, rels []*Release) ([]Drift, error) {
	var want []workload
	lists := map[liveKey]bool{}
	for _, rel := range rels {
		if rel == nil {
			continue
		}
		ws, err := d.workloads(rel)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			lists[liveKey{w.kind, w.namespace}] = true
		}
		want = append(want, ws...)
	}

	keys := make([]liveKey, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].namespace != keys[j].namespace {
			return keys[i].namespace < keys[j].namespace
		}
		return keys[i].kind < keys[j].kind
	})
	live := make(map[liveKey]map[string]map[string]any, len(keys))
	for _, k := range keys {
		objs, err := d.listLive(ctx, k)
		if err != nil {
			return nil, err
		}
		live[k] = objs
	}

	var out []Drift
	for _, w := range want {
		obj, ok := live[liveKey{w.kind, w.namespace}][w.name]
		if !ok {
			out = append(out, Drift{Release: w.release, Object: w.object(), Problem: "missing"})
			continue
		}
		var problems []string
		if w.replicas != nil {
			replicas := int64(1)
			if n, found, _ := unstructured.NestedInt64(obj, "spec", "replicas"); found {
				replicas = n
			}
			if replicas != *w.replicas {
				problems = append(problems, fmt.Sprintf("%d replicas, the release has %d", replicas, *w.replicas))
			}
		}
		if changed := changedFields(w.kind, w.manifest, obj); len(changed) > 0 {
			problems = append(problems, strings.Join(changed, ", ")+" changed")
		}
		if len(problems) > 0 {
			out = append(out, Drift{Release: w.release, Object: w.object(), Problem: strings.Join(problems, "; ")})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Release != out[j].Release {
			return out[i].Release < out[j].Release
		}
		return out[i].Object < out[j].Object
	})
	return out, nil
}

// changedFields names the fields the manifest object sets that the live one has
// otherwise. It compares only what the API server keeps as written (no defaults, no
// normalisation) so that a release as installed never shows as changed: container
// images by container name; a Service's type, and each port's port, targetPort and
// protocol, by port name (or position); a Secret's or ConfigMap's data by key; a Role's
// rules and a RoleBinding's subjects and roleRef as a whole.
func changedFields(kind string, manifest, live map[string]any) []string {
	var out []string
	switch kind {
	case kindDeployment, kindStatefulSet, kindDaemonSet:
		for _, list := range []string{"initContainers", "containers"} {
			images := map[string]any{}
			for _, c := range slice(live, "spec", "template", "spec", list) {
				images[fmt.Sprint(c["name"])] = c["image"]
			}
			for _, c := range slice(manifest, "spec", "template", "spec", list) {
				if img, ok := c["image"]; ok && !same(img, images[fmt.Sprint(c["name"])]) {
					out = append(out, fmt.Sprintf("image of container %v", c["name"]))
				}
			}
		}
	case kindService:
		if t, ok, _ := unstructured.NestedFieldNoCopy(manifest, "spec", "type"); ok {
			if lt, _, _ := unstructured.NestedFieldNoCopy(live, "spec", "type"); !same(t, lt) {
				out = append(out, "type")
			}
		}
		livePorts := slice(live, "spec", "ports")
		for i, p := range slice(manifest, "spec", "ports") {
			var lp map[string]any
			for j, l := range livePorts {
				if name, named := p["name"]; named && same(name, l["name"]) || !named && i == j {
					lp = l
					break
				}
			}
			for _, f := range []string{"port", "targetPort", "protocol"} {
				if v, ok := p[f]; ok && (lp == nil || !same(v, lp[f])) {
					out = append(out, fmt.Sprintf("port %d %s", i, f))
				}
			}
		}
	case kindSecret, kindConfigMap:
		data, _, _ := unstructured.NestedMap(live, "data")
		want, _, _ := unstructured.NestedMap(manifest, "data")
		if kind == kindSecret {
			// The API server stores stringData base64-encoded in data.
			strData, _, _ := unstructured.NestedMap(manifest, "stringData")
			for k, v := range strData {
				if want == nil {
					want = map[string]any{}
				}
				want[k] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(v)))
			}
		}
		var keys []string
		for k, v := range want {
			if !same(v, data[k]) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, "data key "+k)
		}
	case kindRole:
		if !same(manifest["rules"], live["rules"]) {
			out = append(out, "rules")
		}
	case kindRoleBinding:
		for _, f := range []string{"subjects", "roleRef"} {
			if v, ok := manifest[f]; ok && !same(v, live[f]) {
				out = append(out, f)
			}
		}
	}
	return out
}

// same compares two values as JSON, so that a number parsed from YAML equals the live
// integer.
func same(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// slice is the list of objects at path.
func slice(obj map[string]any, path ...string) []map[string]any {
	list, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
	items, _ := list.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// workloads parses the objects of the release's manifest (not its hooks) that Drift
// compares, once each, in the manifest's order.
func (d *Driver) workloads(rel *Release) ([]workload, error) {
	var out []workload
	seen := map[liveKey]map[string]bool{}
	docs := releaseutil.SplitManifests(rel.Manifest)
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(names))
	for _, name := range names {
		var u unstructured.Unstructured
		// SplitManifests trims each document, which takes the line break off the end of a
		// block scalar that ends it ("data: {script: |\n  ...\n}"); Helm applied the
		// document with it.
		if err := yaml.Unmarshal([]byte(docs[name]+"\n"), &u.Object); err != nil {
			return nil, fmt.Errorf("parsing the manifest of helm release %s: %w", d.id(rel.Name), err)
		}
		if len(u.Object) == 0 {
			continue
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if group, ok := compared[u.GetKind()]; err != nil || !ok || gv.Group != group {
			continue
		}
		w := workload{release: rel.Name, kind: u.GetKind(), namespace: u.GetNamespace(), name: u.GetName(), manifest: u.Object}
		if w.namespace == "" {
			w.namespace = d.Namespace
		}
		if w.kind == kindDeployment || w.kind == kindStatefulSet {
			n, err := manifestReplicas(&u)
			if err != nil {
				return nil, fmt.Errorf("the manifest of helm release %s: %s: %w", d.id(rel.Name), w.object(), err)
			}
			w.replicas = &n
		}
		key := liveKey{w.kind, w.namespace}
		if w.name == "" || seen[key][w.name] {
			continue
		}
		if seen[key] == nil {
			seen[key] = map[string]bool{}
		}
		seen[key][w.name] = true
		out = append(out, w)
	}
	return out, nil
}

// manifestReplicas is spec.replicas of a manifest's object, 1 when it has none (the API
// server's default).
func manifestReplicas(u *unstructured.Unstructured) (int64, error) {
	v, found, err := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas")
	if err != nil {
		return 0, err
	}
	if !found || v == nil {
		return 1, nil
	}
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case float64:
		if n == math.Trunc(n) && !math.IsInf(n, 0) {
			return int64(n), nil
		}
	case json.Number:
		return n.Int64()
	}
	return 0, fmt.Errorf("spec.replicas %v is not a whole number", v)
}

// notHelm leaves Helm's own release records out of a list of Secrets: they are read by
// List, and are large.
const notHelm = "owner!=helm"

// listLive lists the live objects of one kind in one namespace, by name, as unstructured
// content.
func (d *Driver) listLive(ctx context.Context, k liveKey) (map[string]map[string]any, error) {
	cs := d.Clients.Kubernetes
	var items []any
	var err error
	collect := func(l any, lerr error) {
		if err = lerr; err == nil {
			items = append(items, l)
		}
	}
	opts := metav1.ListOptions{}
	switch k.kind {
	case kindDeployment:
		collect(cs.AppsV1().Deployments(k.namespace).List(ctx, opts))
	case kindStatefulSet:
		collect(cs.AppsV1().StatefulSets(k.namespace).List(ctx, opts))
	case kindDaemonSet:
		collect(cs.AppsV1().DaemonSets(k.namespace).List(ctx, opts))
	case kindService:
		collect(cs.CoreV1().Services(k.namespace).List(ctx, opts))
	case kindSecret:
		collect(cs.CoreV1().Secrets(k.namespace).List(ctx, metav1.ListOptions{LabelSelector: notHelm}))
	case kindConfigMap:
		collect(cs.CoreV1().ConfigMaps(k.namespace).List(ctx, opts))
	case kindServiceAccount:
		collect(cs.CoreV1().ServiceAccounts(k.namespace).List(ctx, opts))
	case kindRole:
		collect(cs.RbacV1().Roles(k.namespace).List(ctx, opts))
	case kindRoleBinding:
		collect(cs.RbacV1().RoleBindings(k.namespace).List(ctx, opts))
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "listing", Object: fmt.Sprintf("the %ss in namespace %s", k.kind, k.namespace), Err: err}
	}
	out := map[string]map[string]any{}
	for _, l := range items {
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(l)
		if err != nil {
			return nil, err
		}
		for _, item := range slice(content, "items") {
			name, _, _ := unstructured.NestedString(item, "metadata", "name")
			out[name] = item
		}
	}
	return out, nil
}
