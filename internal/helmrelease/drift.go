package helmrelease

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v3/pkg/releaseutil"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Drift is what differs between a release's manifest and the live workloads.
type Drift struct {
	// Release is the release name.
	Release string
	// Object names the workload: "Deployment openstack/keystone-api".
	Object string
	// Problem is "missing", or "3 replicas, the release has 1".
	Problem string
}

func (d Drift) String() string {
	return fmt.Sprintf("helm release %s: %s: %s", d.Release, d.Object, d.Problem)
}

// The workload kinds Drift looks at, all namespaced, all in the apps group.
const (
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
)

// workload is one workload of a release's manifest.
type workload struct {
	release, kind, namespace, name string
	// replicas is spec.replicas (1 when the manifest has none); nil for a DaemonSet.
	replicas *int64
}

func (w workload) object() string { return fmt.Sprintf("%s %s/%s", w.kind, w.namespace, w.name) }

// liveKey is where Drift lists: one list per kind and namespace.
type liveKey struct{ kind, namespace string }

// Drift compares the workloads (Deployments, StatefulSets, DaemonSets) of the releases'
// manifests with the live ones: one list request per kind and namespace for all releases
// together (objects without a namespace are in d.Namespace), no chart download, no
// template rendering. A workload that does not exist is "missing"; a Deployment or
// StatefulSet whose live spec.replicas differs from the manifest's (none means 1) is
// "N replicas, the release has M". A kind is listed only when some manifest has it. The
// result is sorted by release, then object.
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
	// live maps kind and namespace to the live objects' spec.replicas by name (nil for a
	// DaemonSet).
	live := make(map[liveKey]map[string]*int64, len(keys))
	for _, k := range keys {
		objs, err := d.listLive(ctx, k)
		if err != nil {
			return nil, err
		}
		live[k] = objs
	}

	var out []Drift
	for _, w := range want {
		replicas, ok := live[liveKey{w.kind, w.namespace}][w.name]
		switch {
		case !ok:
			out = append(out, Drift{Release: w.release, Object: w.object(), Problem: "missing"})
		case w.replicas != nil && replicas != nil && *replicas != *w.replicas:
			out = append(out, Drift{Release: w.release, Object: w.object(),
				Problem: fmt.Sprintf("%d replicas, the release has %d", *replicas, *w.replicas)})
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

// workloads parses the Deployments, StatefulSets and DaemonSets of the release's manifest
// (not its hooks), once each, in the manifest's order.
func (d *Driver) workloads(rel *Release) ([]workload, error) {
	var out []workload
	seen := map[workload]bool{}
	docs := releaseutil.SplitManifests(rel.Manifest)
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(names))
	for _, name := range names {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(docs[name]), &u.Object); err != nil {
			return nil, fmt.Errorf("parsing the manifest of helm release %s: %w", d.id(rel.Name), err)
		}
		if len(u.Object) == 0 {
			continue
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil || gv.Group != "apps" {
			continue
		}
		w := workload{release: rel.Name, kind: u.GetKind(), namespace: u.GetNamespace(), name: u.GetName()}
		if w.namespace == "" {
			w.namespace = d.Namespace
		}
		switch w.kind {
		case kindDeployment, kindStatefulSet:
			n, err := manifestReplicas(&u)
			if err != nil {
				return nil, fmt.Errorf("the manifest of helm release %s: %s: %w", d.id(rel.Name), w.object(), err)
			}
			w.replicas = &n
		case kindDaemonSet:
		default:
			continue
		}
		key := w
		key.replicas = nil
		if w.name == "" || seen[key] {
			continue
		}
		seen[key] = true
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

// listLive lists the live objects of one kind in one namespace, with their spec.replicas.
func (d *Driver) listLive(ctx context.Context, k liveKey) (map[string]*int64, error) {
	apps := d.Clients.Kubernetes.AppsV1()
	out := map[string]*int64{}
	replicas := func(r *int32) *int64 {
		n := int64(1)
		if r != nil {
			n = int64(*r)
		}
		return &n
	}
	var err error
	switch k.kind {
	case kindDeployment:
		l, lerr := apps.Deployments(k.namespace).List(ctx, metav1.ListOptions{})
		if err = lerr; err == nil {
			for i := range l.Items {
				out[l.Items[i].Name] = replicas(l.Items[i].Spec.Replicas)
			}
		}
	case kindStatefulSet:
		l, lerr := apps.StatefulSets(k.namespace).List(ctx, metav1.ListOptions{})
		if err = lerr; err == nil {
			for i := range l.Items {
				out[l.Items[i].Name] = replicas(l.Items[i].Spec.Replicas)
			}
		}
	case kindDaemonSet:
		l, lerr := apps.DaemonSets(k.namespace).List(ctx, metav1.ListOptions{})
		if err = lerr; err == nil {
			for i := range l.Items {
				out[l.Items[i].Name] = nil
			}
		}
	}
	if err != nil {
		return nil, &kube.ObjectError{Action: "listing", Object: fmt.Sprintf("the %ss in namespace %s", k.kind, k.namespace), Err: err}
	}
	return out, nil
}
