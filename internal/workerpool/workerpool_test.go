package workerpool

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func testSpec() Spec {
	return Spec{
		Namespace: "tenant-acme", Cluster: "prod", Name: "workers", Version: "v1.35.2",
		Replicas:            new(int64(3)),
		NodeLabels:          map[string]string{"example.com/role": "db", "node-role.kubernetes.io/db": "", "tier": "gold"},
		NodeTaints:          []Taint{{Key: "dedicated", Value: "db", Effect: "NoSchedule"}},
		KubeletExtraArgs:    map[string]string{"max-pods": "110"},
		Files:               []File{{Path: "/etc/motd", Content: "hi"}, {Path: "/etc/secret", SecretName: "s", SecretKey: "k", Append: true}},
		PreKubeadmCommands:  []string{"echo pre"},
		PostKubeadmCommands: []string{"echo post"},
		Infrastructure:      Infrastructure{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "OpenStackMachineTemplate", Spec: mustCanonical(`{"flavor":"m1.large","rootVolume":{"sizeGiB":50}}`)},
		Rollout:             &Rollout{MaxSurge: "1", MaxUnavailable: "25%"},
		HealthCheck: &HealthCheck{NodeStartupTimeoutSeconds: new(int64(600)), MaxUnhealthy: "40%",
			UnhealthyNodeConditions: []NodeCondition{{Type: "Ready", Status: "False", TimeoutSeconds: 300}}},
	}
}

func mustCanonical(s string) json.RawMessage {
	b, err := CanonicalJSON(s)
	if err != nil {
		panic(err)
	}
	return b
}

func field(t *testing.T, obj *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, found, err := unstructured.NestedFieldNoCopy(obj.Object, path...)
	if err != nil || !found {
		t.Fatalf("%s: %s not set (%v)", obj.GetKind(), strings.Join(path, "."), err)
	}
	return v
}

func TestObjects(t *testing.T) {
	s := testSpec()
	md := s.MachineDeployment()
	for path, want := range map[string]any{
		"spec.clusterName":                                   "prod",
		"spec.replicas":                                      int64(3),
		"spec.template.spec.version":                         "v1.35.2",
		"spec.template.spec.bootstrap.configRef.name":        s.BootstrapTemplateName(),
		"spec.template.spec.bootstrap.configRef.apiGroup":    "bootstrap.cluster.x-k8s.io",
		"spec.template.spec.infrastructureRef.kind":          "OpenStackMachineTemplate",
		"spec.template.spec.infrastructureRef.name":          s.InfrastructureTemplateName(),
		"spec.rollout.strategy.type":                         "RollingUpdate",
		"spec.rollout.strategy.rollingUpdate.maxSurge":       int64(1),
		"spec.rollout.strategy.rollingUpdate.maxUnavailable": "25%",
	} {
		if got := field(t, md, strings.Split(path, ".")...); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("MachineDeployment %s = %v, want %v", path, got, want)
		}
	}
	labels := field(t, md, "spec", "template", "metadata", "labels").(map[string]any)
	if labels["node-role.kubernetes.io/db"] != "" || labels["tier"] != nil || labels["cluster.x-k8s.io/deployment-name"] != "workers" {
		t.Errorf("machine labels = %v: want the role label and the selector, not the kubelet labels", labels)
	}
	if _, ok := md.Object["metadata"].(map[string]any)["creationTimestamp"]; ok {
		t.Error("creationTimestamp sent")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(md.Object, "status"); found {
		t.Error("status sent")
	}

	kct := s.BootstrapTemplate()
	args := field(t, kct, "spec", "template", "spec", "joinConfiguration", "nodeRegistration", "kubeletExtraArgs")
	if fmt.Sprint(args) != "[map[name:max-pods value:110] map[name:node-labels value:example.com/role=db,tier=gold]]" {
		t.Errorf("kubeletExtraArgs = %v", args)
	}
	files := fmt.Sprint(field(t, kct, "spec", "template", "spec", "files"))
	if !strings.Contains(files, "contentFrom:map[secret:map[key:k name:s]]") || !strings.Contains(files, "append:true") {
		t.Errorf("files = %s", files)
	}

	infra := s.InfrastructureTemplate("infrastructure.cluster.x-k8s.io/v1beta1")
	if got := field(t, infra, "spec", "template", "spec", "rootVolume", "sizeGiB"); got != int64(50) {
		t.Errorf("infrastructure spec number = %#v, want int64(50)", got)
	}
	if infra.GetLabels()[LabelPool] != "workers" || infra.GetName() != s.InfrastructureTemplateName() {
		t.Errorf("infrastructure template %s labels %v", infra.GetName(), infra.GetLabels())
	}

	mhc := s.MachineHealthCheck()
	if got := field(t, mhc, "spec", "checks", "unhealthyNodeConditions"); fmt.Sprint(got) != "[map[status:False timeoutSeconds:300 type:Ready]]" {
		t.Errorf("unhealthyNodeConditions = %v", got)
	}
}

func TestAutoscalingLeavesReplicasAlone(t *testing.T) {
	s := testSpec()
	s.Replicas = nil
	s.Autoscaling = &Autoscaling{Min: 1, Max: 5}
	md := s.MachineDeployment()
	if _, found, _ := unstructured.NestedFieldNoCopy(md.Object, "spec", "replicas"); found {
		t.Error("spec.replicas sent while autoscaling")
	}
	if a := md.GetAnnotations(); a[AnnotationMinSize] != "1" || a[AnnotationMaxSize] != "5" {
		t.Errorf("annotations = %v", a)
	}
}

func TestTemplateNamesFollowContent(t *testing.T) {
	base := testSpec()
	b, i := base.BootstrapTemplateName(), base.InfrastructureTemplateName()
	if len(b) != len("workers-")+hashLength || !strings.HasPrefix(b, "workers-") {
		t.Errorf("bootstrap template name %q", b)
	}
	same := testSpec()
	same.Replicas, same.Version, same.FailureDomain = new(int64(9)), "v1.36.0", "az-2"
	same.NodeLabels = map[string]string{"example.com/role": "db", "tier": "gold", "node-role.kubernetes.io/db": "changed"}
	if same.BootstrapTemplateName() != b || same.InfrastructureTemplateName() != i {
		t.Error("replicas, version, failure domain or Machine labels renamed a template")
	}
	changed := testSpec()
	changed.KubeletExtraArgs = map[string]string{"max-pods": "50"}
	if changed.BootstrapTemplateName() == b || changed.InfrastructureTemplateName() != i {
		t.Error("a kubelet argument must rename only the bootstrap template")
	}
	changed = testSpec()
	changed.Infrastructure.Spec = mustCanonical(`{"rootVolume":{"sizeGiB":50},"flavor":"m1.xlarge"}`)
	if changed.InfrastructureTemplateName() == i || changed.BootstrapTemplateName() != b {
		t.Error("an infrastructure spec change must rename only the infrastructure template")
	}
	reordered := testSpec()
	reordered.Infrastructure.Spec = mustCanonical(` { "rootVolume": {"sizeGiB": 50}, "flavor": "m1.large" } `)
	if reordered.InfrastructureTemplateName() != i {
		t.Error("key order or spaces renamed the infrastructure template")
	}
	existing := testSpec()
	existing.Infrastructure = Infrastructure{APIGroup: "g", Kind: "K", Name: "shared"}
	if existing.InfrastructureTemplateName() != "shared" || existing.InfrastructureTemplate("g/v1") != nil {
		t.Error("an existing template must be used as it is")
	}
}

func TestNodeLabels(t *testing.T) {
	kubelet, machine := SplitNodeLabels(map[string]string{
		"a": "1", "example.com/b": "2", "node-role.kubernetes.io/worker": "", "node-restriction.kubernetes.io/x": "y",
		"foo.node-restriction.kubernetes.io/z": "1", "node.cluster.x-k8s.io/pool": "p", "node.kubernetes.io/instance": "i",
	})
	if len(kubelet) != 3 || kubelet["node.kubernetes.io/instance"] != "i" || len(machine) != 4 {
		t.Errorf("kubelet %v, machine %v", kubelet, machine)
	}
	if got := FormatNodeLabels(kubelet); got != "a=1,example.com/b=2,node.kubernetes.io/instance=i" {
		t.Errorf("FormatNodeLabels = %q", got)
	}
	if got := ParseNodeLabels("a=1, b=,c=x=y"); fmt.Sprint(got) != "map[a:1 b: c:x=y]" {
		t.Errorf("ParseNodeLabels = %v", got)
	}
}

func TestCanonicalJSON(t *testing.T) {
	got, err := CanonicalJSON(` {"b": 1.50, "a": [1e3, {"y": true, "x": null}]}`)
	if err != nil || string(got) != `{"a":[1e3,{"y":true}],"b":1.50}` {
		t.Errorf("CanonicalJSON = %s, %v", got, err)
	}
	for _, bad := range []string{"", "[1]", "null", `"x"`, "{} {}", "{"} {
		if _, err := CanonicalJSON(bad); err == nil {
			t.Errorf("CanonicalJSON(%q) accepted", bad)
		}
	}
}

func TestContains(t *testing.T) {
	for _, c := range []struct {
		got, want string
		ok        bool
	}{
		{`{"a":1,"b":{"c":2,"d":3}}`, `{"b":{"c":2}}`, true},
		{`{"a":1.0}`, `{"a":1}`, true},
		{`{"a":[{"x":1,"y":2}]}`, `{"a":[{"x":1}]}`, true},
		{`{"a":[1,2]}`, `{"a":[1]}`, false},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":1}`, `{"b":1}`, false},
		{`{"a":"1"}`, `{"a":1}`, false},
	} {
		if got := Contains(json.RawMessage(c.got), json.RawMessage(c.want)); got != c.ok {
			t.Errorf("Contains(%s, %s) = %v", c.got, c.want, got)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, c := range []struct {
		pool, cp string
		newer    *bool
	}{
		{"v1.35.2", "v1.35.2", nil},
		{"v1.34.0", "v1.35.2", nil},
		{"v1.32.0", "v1.35.2", nil},
		{"v1.35.3", "v1.35.2", new(true)},
		{"v1.36.0", "v1.35.2", new(true)},
		{"v1.31.9", "v1.35.2", new(false)},
		{"v1.35.2", "", nil},
	} {
		err := CheckVersion(c.pool, c.cp)
		var v *VersionError
		switch {
		case c.newer == nil && err != nil:
			t.Errorf("CheckVersion(%s, %s) = %v", c.pool, c.cp, err)
		case c.newer != nil && (!errors.As(err, &v) || v.Newer != *c.newer):
			t.Errorf("CheckVersion(%s, %s) = %v, want newer=%v", c.pool, c.cp, err, *c.newer)
		}
	}
}

func TestStatus(t *testing.T) {
	md := func(status map[string]any, generation int64, replicas any) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}, "status": status}}
		if replicas != nil {
			o.Object["spec"].(map[string]any)["replicas"] = replicas
		}
		o.SetGeneration(generation)
		return o
	}
	ready := map[string]any{
		"observedGeneration": int64(2), "replicas": int64(3), "readyReplicas": int64(3), "availableReplicas": int64(3), "upToDateReplicas": int64(3),
		"conditions": []any{map[string]any{"type": "Available", "status": "True"}},
	}
	if s := StatusOf(md(ready, 2, int64(3))); !s.Ready() {
		t.Errorf("ready status not ready: %s", s.Describe())
	}
	for name, obj := range map[string]*unstructured.Unstructured{
		"old generation": md(ready, 3, int64(3)),
		"scaling":        md(ready, 2, int64(4)),
		"no replicas":    md(ready, 2, nil),
		"nil":            nil,
		// A rolling update's surge: the new machines are there, an old one lingers.
		"old machine left":      md(with(ready, "replicas", int64(4)), 2, int64(3)),
		"machine not ready":     md(with(ready, "readyReplicas", int64(2)), 2, int64(3)),
		"machine not available": md(with(ready, "availableReplicas", int64(2)), 2, int64(3)),
		"not available":         md(with(ready, "conditions", []any{map[string]any{"type": "Available", "status": "False"}}), 2, int64(3)),
	} {
		if s := StatusOf(obj); s.Ready() {
			t.Errorf("%s: ready", name)
		}
	}
	rolling := md(map[string]any{
		"observedGeneration": int64(2), "replicas": int64(3), "readyReplicas": int64(3), "availableReplicas": int64(3), "upToDateReplicas": int64(1),
		"conditions": []any{map[string]any{"type": "Available", "status": "False", "reason": "WaitingForAvailableReplicasSet", "message": "2 unavailable"}},
	}, 2, int64(3))
	s := StatusOf(rolling)
	if s.Ready() || !strings.Contains(s.Describe(), "1 up to date") || !strings.Contains(s.Describe(), "Available=False (WaitingForAvailableReplicasSet: 2 unavailable)") {
		t.Errorf("rolling: %s", s.Describe())
	}
	blocked := md(with(ready, "conditions", []any{
		map[string]any{"type": "Available", "status": "False"},
		map[string]any{"type": "ScalingUp", "status": "True", "message": "Scaling up from 0 to 3 replicas is blocked because:\n* spec.template.spec.infrastructureRef references DockerMachineTemplate w that does not exist"},
	}), 2, int64(3))
	if d := StatusOf(blocked).Describe(); !strings.Contains(d, "DockerMachineTemplate w that does not exist") {
		t.Errorf("blocked: %s does not say which template is missing", d)
	}
	_ = unstructured.SetNestedField(rolling.Object, "OnDelete", "spec", "rollout", "strategy", "type")
	_ = unstructured.SetNestedSlice(rolling.Object, []any{map[string]any{"type": "Available", "status": "True"}}, "status", "conditions")
	if !StatusOf(rolling).Ready() {
		t.Error("OnDelete pool waits for machines nobody replaces")
	}
}

// with returns a copy of status with key set to v.
func with(status map[string]any, key string, v any) map[string]any {
	out := maps.Clone(status)
	out[key] = v
	return out
}

func BenchmarkTemplateNames(b *testing.B) {
	s := testSpec()
	for b.Loop() {
		_ = s.BootstrapTemplateName()
		_ = s.InfrastructureTemplateName()
	}
}

// Empty command lists mean none: the KubeadmConfigTemplate then has no
// spec.template.spec at all, not an empty one (the CRD refuses an empty object).
func TestEmptyCommandsLeaveNoEmptySpec(t *testing.T) {
	s := Spec{Namespace: "tenant-a", Cluster: "work", Name: "workers",
		PreKubeadmCommands: []string{}, PostKubeadmCommands: []string{}}
	spec, found, _ := unstructured.NestedFieldNoCopy(s.BootstrapTemplate().Object, "spec", "template", "spec")
	if m, ok := spec.(map[string]any); found && (!ok || len(m) == 0) {
		t.Errorf("spec.template.spec is %#v, want it left out", spec)
	}
	if want := (Spec{Namespace: "tenant-a", Cluster: "work", Name: "workers"}).BootstrapTemplateName(); s.BootstrapTemplateName() != want {
		t.Errorf("template name %s, want %s (as without the empty lists)", s.BootstrapTemplateName(), want)
	}
}
