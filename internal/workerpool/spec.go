// Package workerpool turns the description of a worker pool into Cluster API objects — a
// MachineDeployment, its KubeadmConfigTemplate, an infrastructure machine template and an
// optional MachineHealthCheck — applies them with server-side apply, waits for the
// rollout, removes templates no MachineSet uses any more, and reads them back. It knows
// nothing of Terraform.
//
// Templates are immutable by Cluster API convention: the generated ones are named after a
// hash of their content (<pool>-<hash>), so that a change of content is a new template and
// a rolling update of the MachineDeployment, never an edit in place.
package workerpool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubeletapis "k8s.io/kubelet/pkg/apis"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

const (
	// LabelPool names the worker pool an object belongs to; LabelCluster its cluster.
	LabelPool    = "qumulus.io/worker-pool"
	LabelCluster = "qumulus.io/cluster"

	// AnnotationMinSize and AnnotationMaxSize are the cluster-autoscaler's node group
	// bounds for the Cluster API provider.
	AnnotationMinSize = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
	AnnotationMaxSize = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"

	// NodeLabelsArg is the kubelet flag that labels the Node at registration.
	NodeLabelsArg = "node-labels"

	// StrategyRollingUpdate and StrategyOnDelete are Cluster API's rollout strategies.
	StrategyRollingUpdate = string(clusterv1.RollingUpdateMachineDeploymentStrategyType)
	StrategyOnDelete      = string(clusterv1.OnDeleteMachineDeploymentStrategyType)

	hashLength = 10
)

// Spec is what the provider manages of one worker pool. Empty strings, nil pointers and
// nil slices and maps are not sent: Cluster API's defaults (or another manager's values)
// stay.
type Spec struct {
	// Namespace is the tenant namespace; Cluster the name of the Cluster API Cluster (the
	// qumulus_cluster's name); Name the pool's, which is the MachineDeployment's name.
	Namespace, Cluster, Name string
	// Tenant is the tenant label of the namespace, copied to the objects ("" when none).
	Tenant string
	// Version is normalised (v1.35.0).
	Version string
	// Replicas is nil when the pool autoscales: then the autoscaler owns spec.replicas.
	Replicas    *int64
	Autoscaling *Autoscaling

	FailureDomain string
	// NodeLabels are split between the kubelet (--node-labels) and the Machine template's
	// labels, which Cluster API keeps in sync on the Node (see SplitNodeLabels).
	NodeLabels          map[string]string
	NodeTaints          []Taint
	KubeletExtraArgs    map[string]string
	Files               []File
	PreKubeadmCommands  []string
	PostKubeadmCommands []string

	Infrastructure Infrastructure
	Rollout        *Rollout
	HealthCheck    *HealthCheck
}

// Autoscaling is the cluster-autoscaler's range for the pool.
type Autoscaling struct{ Min, Max int64 }

// Taint is a Node taint kubeadm registers the Node with.
type Taint struct{ Key, Value, Effect string }

// File is a file cloud-init writes on the machine before kubeadm runs: Content inline, or
// the key SecretKey of the Secret SecretName in the pool's namespace.
type File struct {
	Path, Owner, Permissions, Encoding string
	Content                            string
	Append                             bool
	SecretName, SecretKey              string
}

// Infrastructure is the machines' infrastructure template: generated from Spec (a JSON
// object, the template's spec.template.spec), or an existing template called Name.
type Infrastructure struct {
	APIGroup, Kind string
	// Spec is canonical JSON (see CanonicalJSON); nil when Name is set.
	Spec json.RawMessage
	Name string
}

// Generated reports whether the provider makes the template.
func (i Infrastructure) Generated() bool { return i.Name == "" }

// Rollout is how the MachineDeployment replaces machines.
type Rollout struct {
	// Strategy is RollingUpdate or OnDelete ("" for Cluster API's default).
	Strategy string
	// MaxSurge and MaxUnavailable are a number or a percentage ("" for the default).
	MaxSurge, MaxUnavailable string
}

// HealthCheck is the pool's MachineHealthCheck.
type HealthCheck struct {
	NodeStartupTimeoutSeconds *int64
	UnhealthyNodeConditions   []NodeCondition
	// MaxUnhealthy stops remediation when more machines than this (a number or a
	// percentage) are unhealthy ("" for no limit).
	MaxUnhealthy string
}

// NodeCondition makes a Node unhealthy when its condition Type has Status for TimeoutSeconds.
type NodeCondition struct {
	Type, Status   string
	TimeoutSeconds int64
}

// CanonicalJSON returns the JSON object s with sorted keys and no insignificant space, the
// spelling Terraform's jsonencode produces, numbers as written. It refuses anything but an
// object.
func CanonicalJSON(s string) (json.RawMessage, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("not a single JSON object")
	}
	if v == nil {
		return nil, fmt.Errorf("not a JSON object: null")
	}
	return json.Marshal(dropNulls(v))
}

// dropNulls removes null members of objects: the API server does not store them, so they
// would neither be read back nor belong in the content hash.
func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = dropNulls(e)
		}
	case []any:
		for i, e := range t {
			t[i] = dropNulls(e)
		}
	}
	return v
}

// SplitNodeLabels returns the labels the kubelet sets when it registers the Node and the
// ones that go on the Machines, which Cluster API copies to their Nodes: the
// node-role.kubernetes.io/, node-restriction.kubernetes.io and node.cluster.x-k8s.io
// domains, which a kubelet may not set on itself.
func SplitNodeLabels(labels map[string]string) (kubelet, machine map[string]string) {
	for k, v := range labels {
		if IsMachineLabel(k) {
			if machine == nil {
				machine = map[string]string{}
			}
			machine[k] = v
			continue
		}
		if kubelet == nil {
			kubelet = map[string]string{}
		}
		kubelet[k] = v
	}
	return kubelet, machine
}

// IsMachineLabel reports whether Cluster API copies the label key from a Machine to its Node.
func IsMachineLabel(key string) bool {
	domain, _, found := strings.Cut(key, "/")
	if !found {
		return false
	}
	if domain == clusterv1.NodeRoleLabelPrefix {
		return true
	}
	for _, d := range []string{clusterv1.NodeRestrictionLabelDomain, clusterv1.ManagedNodeLabelDomain} {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// CheckNodeLabel refuses a node label the kubelet refuses to start with: a kubernetes.io
// or k8s.io label that is neither a kubelet label nor one Cluster API puts on the Node
// from the Machine.
func CheckNodeLabel(key string) error {
	if IsMachineLabel(key) || kubeletapis.IsKubeletLabel(key) {
		return nil
	}
	domain, _, found := strings.Cut(key, "/")
	if !found {
		return nil
	}
	for _, reserved := range []string{"kubernetes.io", "k8s.io"} {
		if domain == reserved || strings.HasSuffix(domain, "."+reserved) {
			return fmt.Errorf("the kubelet refuses to start with the label %q: it may only set the kubernetes.io and k8s.io labels "+
				"%s and those under %s. Use a label of your own domain (e.g. example.com/role), or node-role.kubernetes.io/<role>, "+
				"which Cluster API puts on the Node", key, strings.Join(kubeletapis.KubeletLabels(), ", "), strings.Join(kubeletapis.KubeletLabelNamespaces(), ", "))
		}
	}
	return nil
}

// FormatNodeLabels is the value of the kubelet's --node-labels: k=v pairs, sorted, comma-separated.
func FormatNodeLabels(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// ParseNodeLabels reads the value of --node-labels.
func ParseNodeLabels(s string) map[string]string {
	out := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		out[k] = v
	}
	return out
}

// ObjectLabels are the labels of every object written for the pool.
func (s Spec) ObjectLabels() map[string]string {
	labels := map[string]string{
		kube.LabelManagedBy:                  kube.ManagedBy,
		LabelCluster:                         s.Cluster,
		LabelPool:                            s.Name,
		clusterv1.ClusterNameLabel:           s.Cluster,
		clusterv1.MachineDeploymentNameLabel: s.Name,
	}
	if s.Tenant != "" {
		labels[kube.LabelTenant] = s.Tenant
	}
	return labels
}

// Selector selects the pool's Machines and MachineSets: the labels Cluster API's webhook
// would default the MachineDeployment's selector to.
func (s Spec) Selector() map[string]string {
	return map[string]string{clusterv1.ClusterNameLabel: s.Cluster, clusterv1.MachineDeploymentNameLabel: s.Name}
}

func (s Spec) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: s.ObjectLabels()}
}

// BootstrapConfig is the KubeadmConfigTemplate's spec.template.spec.
func (s Spec) BootstrapConfig() bootstrapv1.KubeadmConfigSpec {
	var c bootstrapv1.KubeadmConfigSpec
	kubeletLabels, _ := SplitNodeLabels(s.NodeLabels)
	args := maps.Clone(s.KubeletExtraArgs)
	if len(kubeletLabels) > 0 {
		if args == nil {
			args = map[string]string{}
		}
		args[NodeLabelsArg] = FormatNodeLabels(kubeletLabels)
	}
	for _, name := range slices.Sorted(maps.Keys(args)) {
		c.JoinConfiguration.NodeRegistration.KubeletExtraArgs = append(c.JoinConfiguration.NodeRegistration.KubeletExtraArgs,
			bootstrapv1.Arg{Name: name, Value: new(args[name])})
	}
	if s.NodeTaints != nil {
		taints := make([]corev1.Taint, 0, len(s.NodeTaints))
		for _, t := range s.NodeTaints {
			taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
		}
		c.JoinConfiguration.NodeRegistration.Taints = &taints
	}
	for _, f := range s.Files {
		file := bootstrapv1.File{Path: f.Path, Owner: f.Owner, Permissions: f.Permissions, Encoding: bootstrapv1.Encoding(f.Encoding), Content: f.Content}
		if f.Append {
			file.Append = new(true)
		}
		if f.SecretName != "" {
			file.ContentFrom.Secret = bootstrapv1.SecretFileSource{Name: f.SecretName, Key: f.SecretKey}
		}
		c.Files = append(c.Files, file)
	}
	// No commands is nil: an empty list would leave spec.template.spec an empty object
	// (its struct is not zero), which the CRD refuses (minProperties 1).
	if len(s.PreKubeadmCommands) > 0 {
		c.PreKubeadmCommands = s.PreKubeadmCommands
	}
	if len(s.PostKubeadmCommands) > 0 {
		c.PostKubeadmCommands = s.PostKubeadmCommands
	}
	return c
}

// BootstrapTemplateName is <pool>-<hash of the bootstrap configuration>.
func (s Spec) BootstrapTemplateName() string {
	// The hash is over the unstructured form (sorted keys, zero values left out), so that
	// it does not change with the field order of the Go types.
	b, _ := json.Marshal(kube.MustUnstructured(s.BootstrapConfig()).Object)
	return s.Name + "-" + contentHash(b)
}

// InfrastructureTemplateName is the existing template's name, or <pool>-<hash of the
// API group, kind and spec>.
func (s Spec) InfrastructureTemplateName() string {
	i := s.Infrastructure
	if !i.Generated() {
		return i.Name
	}
	return s.Name + "-" + contentHash([]byte(i.APIGroup+"\x00"+i.Kind+"\x00"), i.Spec)
}

func contentHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLength]
}

// BootstrapTemplate is the KubeadmConfigTemplate (bootstrap.cluster.x-k8s.io/v1beta2).
func (s Spec) BootstrapTemplate() *unstructured.Unstructured {
	t := bootstrapv1.KubeadmConfigTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfigTemplate"},
		ObjectMeta: s.meta(s.BootstrapTemplateName()),
		Spec:       bootstrapv1.KubeadmConfigTemplateSpec{Template: bootstrapv1.KubeadmConfigTemplateResource{Spec: s.BootstrapConfig()}},
	}
	return kube.MustUnstructured(&t)
}

// InfrastructureTemplate is the generated infrastructure machine template in apiVersion
// (group/version), or nil when the pool uses an existing one.
func (s Spec) InfrastructureTemplate(apiVersion string) *unstructured.Unstructured {
	i := s.Infrastructure
	if !i.Generated() {
		return nil
	}
	var spec map[string]any
	d := json.NewDecoder(bytes.NewReader(i.Spec))
	d.UseNumber()
	_ = d.Decode(&spec)
	meta := s.meta(s.InfrastructureTemplateName())
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       i.Kind,
		"metadata": map[string]any{
			"name": meta.Name, "namespace": meta.Namespace, "labels": stringsToAny(meta.Labels),
		},
		"spec": map[string]any{"template": map[string]any{"spec": kube.JSONNumbersToInt(spec)}},
	}}
}

// MachineDeployment is the pool's MachineDeployment (cluster.x-k8s.io/v1beta2). With
// autoscaling, spec.replicas is left out (the autoscaler and Cluster API's defaulting own
// it) and the autoscaler's annotations are set.
func (s Spec) MachineDeployment() *unstructured.Unstructured {
	_, machineLabels := SplitNodeLabels(s.NodeLabels)
	templateLabels := s.Selector()
	maps.Copy(templateLabels, machineLabels)
	md := clusterv1.MachineDeployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineDeployment"},
		ObjectMeta: s.meta(s.Name),
		Spec: clusterv1.MachineDeploymentSpec{
			ClusterName: s.Cluster,
			Selector:    metav1.LabelSelector{MatchLabels: s.Selector()},
			Template: clusterv1.MachineTemplateSpec{
				ObjectMeta: clusterv1.ObjectMeta{Labels: templateLabels},
				Spec: clusterv1.MachineSpec{
					ClusterName: s.Cluster,
					Version:     s.Version,
					Bootstrap: clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{
						APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfigTemplate", Name: s.BootstrapTemplateName(),
					}},
					InfrastructureRef: clusterv1.ContractVersionedObjectReference{
						APIGroup: s.Infrastructure.APIGroup, Kind: s.Infrastructure.Kind, Name: s.InfrastructureTemplateName(),
					},
					FailureDomain: s.FailureDomain,
				},
			},
		},
	}
	if s.Replicas != nil {
		md.Spec.Replicas = new(int32(*s.Replicas))
	}
	if a := s.Autoscaling; a != nil {
		md.Annotations = map[string]string{
			AnnotationMinSize: strconv.FormatInt(a.Min, 10),
			AnnotationMaxSize: strconv.FormatInt(a.Max, 10),
		}
	}
	if r := s.Rollout; r != nil {
		strategy := &md.Spec.Rollout.Strategy
		strategy.Type = clusterv1.MachineDeploymentRolloutStrategyType(r.Strategy)
		if r.MaxSurge != "" || r.MaxUnavailable != "" {
			if strategy.Type == "" {
				// type is required once the strategy block is there.
				strategy.Type = clusterv1.RollingUpdateMachineDeploymentStrategyType
			}
			strategy.RollingUpdate.MaxSurge = intOrPercent(r.MaxSurge)
			strategy.RollingUpdate.MaxUnavailable = intOrPercent(r.MaxUnavailable)
		}
	}
	return kube.MustUnstructured(&md)
}

// MachineHealthCheck is the pool's MachineHealthCheck (cluster.x-k8s.io/v1beta2), named
// after the pool, or nil without a health check.
func (s Spec) MachineHealthCheck() *unstructured.Unstructured {
	h := s.HealthCheck
	if h == nil {
		return nil
	}
	mhc := clusterv1.MachineHealthCheck{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineHealthCheck"},
		ObjectMeta: s.meta(s.Name),
		Spec: clusterv1.MachineHealthCheckSpec{
			ClusterName: s.Cluster,
			Selector:    metav1.LabelSelector{MatchLabels: s.Selector()},
		},
	}
	if h.NodeStartupTimeoutSeconds != nil {
		mhc.Spec.Checks.NodeStartupTimeoutSeconds = new(int32(*h.NodeStartupTimeoutSeconds))
	}
	for _, c := range h.UnhealthyNodeConditions {
		mhc.Spec.Checks.UnhealthyNodeConditions = append(mhc.Spec.Checks.UnhealthyNodeConditions, clusterv1.UnhealthyNodeCondition{
			Type: corev1.NodeConditionType(c.Type), Status: corev1.ConditionStatus(c.Status), TimeoutSeconds: new(int32(c.TimeoutSeconds)),
		})
	}
	mhc.Spec.Remediation.TriggerIf.UnhealthyLessThanOrEqualTo = intOrPercent(h.MaxUnhealthy)
	return kube.MustUnstructured(&mhc)
}

func intOrPercent(s string) *intstr.IntOrString {
	if s == "" {
		return nil
	}
	v := intstr.Parse(s)
	return &v
}

func stringsToAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
