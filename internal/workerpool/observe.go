package workerpool

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// Observed is what the management cluster holds for one pool.
type Observed struct {
	// Spec is read back from the MachineDeployment, its templates and the
	// MachineHealthCheck. Parts whose object is missing are empty.
	Spec   Spec
	Status Status
	// BootstrapTemplate and InfrastructureTemplate are the names the MachineDeployment
	// refers to; the Found flags say whether those templates exist.
	BootstrapTemplate, InfrastructureTemplate string
	BootstrapFound, InfrastructureFound       bool
}

// Status is the MachineDeployment's v1beta2 status.
type Status struct {
	Found, Deleting bool
	// Replicas is spec.replicas (nil until set: an autoscaled pool before Cluster API
	// defaulted it).
	Replicas                                    *int64
	Current, ReadyReplicas, Available, UpToDate int64
	Phase                                       string
	Generation, ObservedGeneration              int64
	AvailableCondition                          string // True, False, Unknown or "" (not reported yet)
	AvailableReason, AvailableMessage           string
	// ScalingUpMessage is the ScalingUp condition's message: why new machines are not
	// made (a missing template), when Cluster API says so.
	ScalingUpMessage string
	Strategy         string
}

// StatusOf reads a MachineDeployment's status (nil: not found).
func StatusOf(md *unstructured.Unstructured) Status {
	if md == nil {
		return Status{}
	}
	s := Status{
		Found:      true,
		Deleting:   md.GetDeletionTimestamp() != nil,
		Replicas:   integer(md, "spec", "replicas"),
		Phase:      str(md, "status", "phase"),
		Generation: md.GetGeneration(),
		Strategy:   str(md, "spec", "rollout", "strategy", "type"),
	}
	s.ObservedGeneration, _, _ = unstructured.NestedInt64(md.Object, "status", "observedGeneration")
	for into, key := range map[*int64]string{&s.Current: "replicas", &s.ReadyReplicas: "readyReplicas", &s.Available: "availableReplicas", &s.UpToDate: "upToDateReplicas"} {
		if v := integer(md, "status", key); v != nil {
			*into = *v
		}
	}
	conditions, _, _ := unstructured.NestedSlice(md.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		switch m["type"] {
		case clusterv1.AvailableCondition:
			s.AvailableCondition, _ = m["status"].(string)
			s.AvailableReason, _ = m["reason"].(string)
			s.AvailableMessage, _ = m["message"].(string)
		case clusterv1.ScalingUpCondition:
			s.ScalingUpMessage, _ = m["message"].(string)
		}
	}
	return s
}

// Ready reports whether the pool runs what was asked, by what Cluster API reports: it has
// seen the current generation, every wanted machine exists, is ready, up to date (except
// with OnDelete, where machines are replaced only when someone deletes them) and
// available, no old machine is left, and the Available condition is true. spec.replicas
// is only the target.
func (s Status) Ready() bool {
	if !s.Found || s.Deleting || s.Replicas == nil || s.ObservedGeneration < s.Generation {
		return false
	}
	want := *s.Replicas
	upToDate := s.UpToDate == want || s.Strategy == StrategyOnDelete
	return s.Current == want && s.ReadyReplicas == want && s.Available == want && upToDate && s.AvailableCondition == string(metav1.ConditionTrue)
}

// Describe tells, for progress logs and errors, where the pool is.
func (s Status) Describe() string {
	if !s.Found {
		return "no MachineDeployment"
	}
	var parts []string
	if s.Deleting {
		parts = append(parts, "being deleted")
	}
	if s.Replicas == nil {
		parts = append(parts, "spec.replicas not set yet (Cluster API defaults it from the autoscaler's min-size annotation)")
	} else {
		want := *s.Replicas
		parts = append(parts, fmt.Sprintf("%d/%d machines, %d ready, %d available, %d up to date", s.Current, want, s.ReadyReplicas, s.Available, s.UpToDate))
	}
	if s.ObservedGeneration < s.Generation {
		parts = append(parts, fmt.Sprintf("Cluster API has seen generation %d of %d", s.ObservedGeneration, s.Generation))
	}
	switch s.AvailableCondition {
	case "":
		parts = append(parts, "no Available condition yet")
	case string(metav1.ConditionTrue):
		parts = append(parts, "Available")
	default:
		c := "Available=" + s.AvailableCondition
		if s.AvailableReason != "" {
			c += " (" + s.AvailableReason
			if s.AvailableMessage != "" {
				c += ": " + strings.TrimSpace(s.AvailableMessage)
			}
			c += ")"
		}
		parts = append(parts, c)
	}
	if s.Phase != "" {
		parts = append(parts, "phase "+s.Phase)
	}
	if msg := strings.TrimSpace(s.ScalingUpMessage); msg != "" && !s.Ready() {
		parts = append(parts, strings.ReplaceAll(msg, "\n", " "))
	}
	return strings.Join(parts, ", ")
}

// specFromMachineDeployment reads the MachineDeployment's part of the spec.
func specFromMachineDeployment(md *unstructured.Unstructured) (Spec, error) {
	var typed clusterv1.MachineDeployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(md.Object, &typed); err != nil {
		return Spec{}, fmt.Errorf("reading MachineDeployment %s/%s: %w", md.GetNamespace(), md.GetName(), err)
	}
	t := typed.Spec.Template.Spec
	s := Spec{
		Namespace:     md.GetNamespace(),
		Name:          md.GetName(),
		Cluster:       typed.Spec.ClusterName,
		Version:       t.Version,
		FailureDomain: t.FailureDomain,
		Infrastructure: Infrastructure{
			APIGroup: t.InfrastructureRef.APIGroup, Kind: t.InfrastructureRef.Kind, Name: t.InfrastructureRef.Name,
		},
		Tenant: md.GetLabels()[kube.LabelTenant],
	}
	if typed.Spec.Replicas != nil {
		s.Replicas = new(int64(*typed.Spec.Replicas))
	}
	minSize, errMin := strconv.ParseInt(md.GetAnnotations()[AnnotationMinSize], 10, 64)
	maxSize, errMax := strconv.ParseInt(md.GetAnnotations()[AnnotationMaxSize], 10, 64)
	if errMin == nil && errMax == nil {
		s.Autoscaling = &Autoscaling{Min: minSize, Max: maxSize}
	}
	for k, v := range typed.Spec.Template.Labels {
		if IsMachineLabel(k) {
			if s.NodeLabels == nil {
				s.NodeLabels = map[string]string{}
			}
			s.NodeLabels[k] = v
		}
	}
	// Only the rollout settings this provider applied: Cluster API's webhook defaults the
	// rest, which the configuration did not ask for.
	if owned := kube.AppliedKeys(md, "spec", "rollout", "strategy"); len(owned) > 0 {
		r := &Rollout{}
		if owned["type"] {
			r.Strategy = string(typed.Spec.Rollout.Strategy.Type)
		}
		rolling := kube.AppliedKeys(md, "spec", "rollout", "strategy", "rollingUpdate")
		if ru := typed.Spec.Rollout.Strategy.RollingUpdate; rolling["maxSurge"] && ru.MaxSurge != nil {
			r.MaxSurge = ru.MaxSurge.String()
		}
		if ru := typed.Spec.Rollout.Strategy.RollingUpdate; rolling["maxUnavailable"] && ru.MaxUnavailable != nil {
			r.MaxUnavailable = ru.MaxUnavailable.String()
		}
		s.Rollout = r
	}
	return s, nil
}

// readBootstrap reads the KubeadmConfigTemplate's part of the spec into s.
func readBootstrap(kct *unstructured.Unstructured, s *Spec) error {
	var typed bootstrapv1.KubeadmConfigTemplate
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(kct.Object, &typed); err != nil {
		return fmt.Errorf("reading KubeadmConfigTemplate %s/%s: %w", kct.GetNamespace(), kct.GetName(), err)
	}
	c := typed.Spec.Template.Spec
	nr := c.JoinConfiguration.NodeRegistration
	for _, a := range nr.KubeletExtraArgs {
		value := ""
		if a.Value != nil {
			value = *a.Value
		}
		if a.Name == NodeLabelsArg {
			if s.NodeLabels == nil {
				s.NodeLabels = map[string]string{}
			}
			maps.Copy(s.NodeLabels, ParseNodeLabels(value))
			continue
		}
		if s.KubeletExtraArgs == nil {
			s.KubeletExtraArgs = map[string]string{}
		}
		s.KubeletExtraArgs[a.Name] = value
	}
	if nr.Taints != nil {
		s.NodeTaints = []Taint{}
		for _, t := range *nr.Taints {
			s.NodeTaints = append(s.NodeTaints, Taint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
		}
	}
	for _, f := range c.Files {
		s.Files = append(s.Files, File{
			Path: f.Path, Owner: f.Owner, Permissions: f.Permissions, Encoding: string(f.Encoding), Content: f.Content,
			Append: f.Append != nil && *f.Append, SecretName: f.ContentFrom.Secret.Name, SecretKey: f.ContentFrom.Secret.Key,
		})
	}
	s.PreKubeadmCommands = c.PreKubeadmCommands
	s.PostKubeadmCommands = c.PostKubeadmCommands
	return nil
}

// readHealthCheck reads a MachineHealthCheck.
func readHealthCheck(mhc *unstructured.Unstructured) (*HealthCheck, error) {
	var typed clusterv1.MachineHealthCheck
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(mhc.Object, &typed); err != nil {
		return nil, fmt.Errorf("reading MachineHealthCheck %s/%s: %w", mhc.GetNamespace(), mhc.GetName(), err)
	}
	h := &HealthCheck{}
	// Cluster API's webhook defaults the startup timeout: read it only when the provider set it.
	if v := typed.Spec.Checks.NodeStartupTimeoutSeconds; v != nil && kube.AppliedKeys(mhc, "spec", "checks")["nodeStartupTimeoutSeconds"] {
		h.NodeStartupTimeoutSeconds = new(int64(*v))
	}
	for _, c := range typed.Spec.Checks.UnhealthyNodeConditions {
		nc := NodeCondition{Type: string(c.Type), Status: string(c.Status)}
		if c.TimeoutSeconds != nil {
			nc.TimeoutSeconds = int64(*c.TimeoutSeconds)
		}
		h.UnhealthyNodeConditions = append(h.UnhealthyNodeConditions, nc)
	}
	if v := typed.Spec.Remediation.TriggerIf.UnhealthyLessThanOrEqualTo; v != nil {
		h.MaxUnhealthy = v.String()
	}
	return h, nil
}

// TemplateSpecJSON returns the canonical JSON of an infrastructure template's
// spec.template.spec.
func TemplateSpecJSON(template *unstructured.Unstructured) (json.RawMessage, error) {
	spec, _, err := unstructured.NestedFieldNoCopy(template.Object, "spec", "template", "spec")
	if err != nil {
		return nil, err
	}
	if spec == nil {
		spec = map[string]any{}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(string(b))
}

// Contains reports whether the JSON value got holds everything of want: every key of
// every object in want with an equal value (numbers compared by value), lists of the same
// length with each element contained. got may hold more keys: the defaults an API server
// or webhook adds.
func Contains(got, want json.RawMessage) bool {
	var g, w any
	if err := decodeNumbers(got, &g); err != nil {
		return false
	}
	if err := decodeNumbers(want, &w); err != nil {
		return false
	}
	return contains(g, w)
}

func decodeNumbers(b []byte, into *any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(into)
}

func contains(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !contains(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !contains(g[i], w[i]) {
				return false
			}
		}
		return true
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		if g == w {
			return true
		}
		gf, errG := g.Float64()
		wf, errW := w.Float64()
		return errG == nil && errW == nil && gf == wf
	}
	return reflect.DeepEqual(got, want)
}

func str(o *unstructured.Unstructured, path ...string) string { return kube.NestedString(o, path...) }

func integer(o *unstructured.Unstructured, path ...string) *int64 {
	return kube.NestedInt64(o, path...)
}
