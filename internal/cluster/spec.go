// Package cluster turns the description of a tenant cluster's control plane into Kamaji
// and Cluster API objects, applies them with server-side apply, reads them back and waits
// for Kamaji to report them ready. It knows nothing of Terraform.
package cluster

import (
	"encoding/json"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// LabelCluster names the qumulus_cluster an object belongs to.
const LabelCluster = "qumulus.io/cluster"

// Defaults Kamaji applies that the provider needs to know.
const (
	// DefaultServiceType is what Kamaji's Cluster API provider defaults spec.network.serviceType to;
	// the provider sends it to a bare TenantControlPlane too, where it is required.
	DefaultServiceType = "LoadBalancer"
	// DefaultKonnectivityPort is the CRD default of spec.addons.konnectivity.server.port, which is
	// required once the server block is given.
	DefaultKonnectivityPort = 8132
)

// Spec is what the provider manages of one tenant control plane. Empty strings, nil
// pointers, nil slices and nil maps are not sent: the server's (or Kamaji's) default, or
// another field manager's value, stays.
type Spec struct {
	Namespace, Name string
	// Version is normalised (v1.35.0).
	Version  string
	Replicas *int64

	DataStore, DataStoreSchema, DataStoreUsername string

	// Labels and Annotations go on every object the provider writes for the cluster.
	Labels, Annotations map[string]string
	// Tenant is the tenant label of the namespace, copied to the objects ("" when none).
	Tenant string

	Network                      Network
	Addons                       Addons
	APIServer, ControllerManager Component
	Scheduler                    Component
	Kubelet                      Kubelet

	// ClusterAPI, when set, makes a Cluster API Cluster whose control plane is a
	// KamajiControlPlane instead of a bare TenantControlPlane.
	ClusterAPI *ClusterAPI
}

// Network is how the control plane is reached and the tenant cluster's network.
type Network struct {
	ServiceType                       string
	ServiceLabels, ServiceAnnotations map[string]string
	Address, AdvertiseAddress         string
	Port                              *int64
	CertSANs                          []string
	ServiceCIDRs, PodCIDRs            []string
	DNSServiceIPs                     []string
	ClusterDomain                     string
	LoadBalancerClass                 string
	LoadBalancerSourceRanges          []string
}

// Addons are the tenant cluster add-ons Kamaji installs. A nil add-on is not installed.
type Addons struct {
	CoreDNS, KubeProxy *ImageAddon
	Konnectivity       *Konnectivity
}

// ImageAddon is an add-on whose image registry and tag can be chosen.
type ImageAddon struct {
	ImageRepository, ImageTag string
}

// Konnectivity is the Konnectivity add-on: a proxy server next to the API server and
// agents in the tenant cluster.
type Konnectivity struct {
	ServerImage, ServerVersion string
	ServerPort                 *int64
	ServerExtraArgs            []string
	AgentImage, AgentVersion   string
	AgentMode                  string
	AgentExtraArgs             []string
}

// Component is a control-plane component's extra arguments and resources.
type Component struct {
	ExtraArgs        []string
	Requests, Limits map[string]resource.Quantity
}

// Kubelet is what Kamaji tells the tenant's kubelets through kubeadm.
type Kubelet struct {
	PreferredAddressTypes []string
	ConfigPatches         []JSONPatch
}

// JSONPatch is an RFC 6902 operation on the kubelet configuration kubeadm generates.
type JSONPatch struct {
	Op, Path, From string
	// Value is the JSON value of add, replace and test; nil when absent.
	Value json.RawMessage
}

// ClusterAPI is the Cluster API side of a cluster in Cluster API mode.
type ClusterAPI struct {
	// Infrastructure is the Cluster's infrastructureRef, nil for none.
	Infrastructure *Reference
}

// Reference names an object by API group, kind and name (Cluster API v1beta2 contract
// references).
type Reference struct {
	APIGroup, Kind, Name string
}

// ObjectLabels are the labels of every object written for the cluster: the user's and the
// provider's ownership labels.
func (s Spec) ObjectLabels() map[string]string {
	labels := maps.Clone(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[kube.LabelManagedBy] = kube.ManagedBy
	labels[LabelCluster] = s.Name
	if s.Tenant != "" {
		labels[kube.LabelTenant] = s.Tenant
	}
	return labels
}

// Objects returns the objects to apply, in order: a TenantControlPlane, or in Cluster API
// mode a KamajiControlPlane and the Cluster that points at it.
func (s Spec) Objects() []*unstructured.Unstructured {
	if s.ClusterAPI == nil {
		return []*unstructured.Unstructured{s.TenantControlPlane()}
	}
	return []*unstructured.Unstructured{s.KamajiControlPlane(), s.Cluster()}
}

func (s Spec) object(apiVersion, kind string, spec map[string]any) *unstructured.Unstructured {
	meta := map[string]any{
		"name":      s.Name,
		"namespace": s.Namespace,
		"labels":    stringsToAny(s.ObjectLabels()),
	}
	if len(s.Annotations) > 0 {
		meta["annotations"] = stringsToAny(s.Annotations)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   meta,
		"spec":       spec,
	}}
}

// TenantControlPlane is the bare-mode object (kamaji.clastix.io/v1alpha1). It always
// carries what the 26.x CRD's rules need: spec.kubernetes.{version,kubelet},
// spec.controlPlane.service.serviceType and spec.networkProfile.
func (s Spec) TenantControlPlane() *unstructured.Unstructured {
	n := s.Network
	serviceType := n.ServiceType
	if serviceType == "" {
		serviceType = DefaultServiceType
	}
	service := map[string]any{"serviceType": serviceType}
	putMeta(service, "additionalMetadata", n.ServiceLabels, n.ServiceAnnotations)

	deployment := map[string]any{}
	putInt(deployment, "replicas", s.Replicas)
	extraArgs := map[string]any{}
	putStrings(extraArgs, "apiServer", s.APIServer.ExtraArgs)
	putStrings(extraArgs, "controllerManager", s.ControllerManager.ExtraArgs)
	putStrings(extraArgs, "scheduler", s.Scheduler.ExtraArgs)
	putMap(deployment, "extraArgs", extraArgs)
	resources := map[string]any{}
	putMap(resources, "apiServer", s.APIServer.resources())
	putMap(resources, "controllerManager", s.ControllerManager.resources())
	putMap(resources, "scheduler", s.Scheduler.resources())
	putMap(deployment, "resources", resources)

	controlPlane := map[string]any{"service": service}
	putMap(controlPlane, "deployment", deployment)

	profile := map[string]any{}
	putString(profile, "address", n.Address)
	putString(profile, "advertiseAddress", n.AdvertiseAddress)
	putInt(profile, "port", n.Port)
	putStrings(profile, "certSANs", n.CertSANs)
	putCIDRs(profile, "serviceCidr", n.ServiceCIDRs)
	putCIDRs(profile, "podCidr", n.PodCIDRs)
	putStrings(profile, "dnsServiceIPs", n.DNSServiceIPs)
	putString(profile, "clusterDomain", n.ClusterDomain)
	putString(profile, "loadBalancerClass", n.LoadBalancerClass)
	putStrings(profile, "loadBalancerSourceRanges", n.LoadBalancerSourceRanges)

	spec := map[string]any{
		"kubernetes": map[string]any{
			"version": s.Version,
			"kubelet": s.Kubelet.object(),
		},
		"controlPlane":   controlPlane,
		"networkProfile": profile,
	}
	s.putDataStore(spec, "dataStore")
	putMap(spec, "addons", s.Addons.object())
	return s.object(kamaji.GroupVersion.String(), kamaji.TenantControlPlaneGVK.Kind, spec)
}

// KamajiControlPlane is the Cluster API mode control plane
// (controlplane.cluster.x-k8s.io/v1alpha2). The Cluster network (CIDRs, domain, port) is
// the Cluster's; Kamaji's provider copies it into the TenantControlPlane.
func (s Spec) KamajiControlPlane() *unstructured.Unstructured {
	n := s.Network
	network := map[string]any{}
	putString(network, "serviceType", n.ServiceType)
	putString(network, "serviceAddress", n.Address)
	putString(network, "advertiseAddress", n.AdvertiseAddress)
	putStringMap(network, "serviceLabels", n.ServiceLabels)
	putStringMap(network, "serviceAnnotations", n.ServiceAnnotations)
	putStrings(network, "certSANs", n.CertSANs)
	putStrings(network, "dnsServiceIPs", n.DNSServiceIPs)
	lb := map[string]any{}
	putString(lb, "loadBalancerClass", n.LoadBalancerClass)
	putStrings(lb, "loadBalancerSourceRanges", n.LoadBalancerSourceRanges)
	putMap(network, "loadBalancerConfig", lb)

	spec := map[string]any{"version": s.Version}
	putInt(spec, "replicas", s.Replicas)
	s.putDataStore(spec, "dataStoreName")
	putMap(spec, "network", network)
	putMap(spec, "addons", s.Addons.object())
	putMap(spec, "apiServer", s.APIServer.object())
	putMap(spec, "controllerManager", s.ControllerManager.object())
	putMap(spec, "scheduler", s.Scheduler.object())
	putMap(spec, "kubelet", s.Kubelet.object())
	return s.object(capi.ControlPlaneGroupVersion.String(), capi.KamajiControlPlaneGVK.Kind, spec)
}

// Cluster is the Cluster API Cluster (cluster.x-k8s.io/v1beta2) of Cluster API mode.
func (s Spec) Cluster() *unstructured.Unstructured {
	n := s.Network
	c := clusterv1.Cluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: s.ObjectLabels(), Annotations: s.Annotations},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{
				Pods:          clusterv1.NetworkRanges{CIDRBlocks: n.PodCIDRs},
				Services:      clusterv1.NetworkRanges{CIDRBlocks: n.ServiceCIDRs},
				ServiceDomain: n.ClusterDomain,
			},
			ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: capi.ControlPlaneGroup, Kind: capi.KamajiControlPlaneGVK.Kind, Name: s.Name,
			},
		},
	}
	if n.Port != nil {
		c.Spec.ClusterNetwork.APIServerPort = int32(*n.Port)
	}
	if ref := s.ClusterAPI.Infrastructure; ref != nil {
		c.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: ref.APIGroup, Kind: ref.Kind, Name: ref.Name}
	}
	return kube.MustUnstructured(&c)
}

func (s Spec) putDataStore(spec map[string]any, nameField string) {
	putString(spec, nameField, s.DataStore)
	putString(spec, "dataStoreSchema", s.DataStoreSchema)
	putString(spec, "dataStoreUsername", s.DataStoreUsername)
}

func (a Addons) object() map[string]any {
	out := map[string]any{}
	for key, addon := range map[string]*ImageAddon{"coreDNS": a.CoreDNS, "kubeProxy": a.KubeProxy} {
		if addon == nil {
			continue
		}
		m := map[string]any{}
		putString(m, "imageRepository", addon.ImageRepository)
		putString(m, "imageTag", addon.ImageTag)
		out[key] = m
	}
	if k := a.Konnectivity; k != nil {
		server := map[string]any{}
		putString(server, "image", k.ServerImage)
		putString(server, "version", k.ServerVersion)
		putStrings(server, "extraArgs", k.ServerExtraArgs)
		putInt(server, "port", k.ServerPort)
		if len(server) > 0 && k.ServerPort == nil {
			// port is required once the server block is there.
			server["port"] = int64(DefaultKonnectivityPort)
		}
		agent := map[string]any{}
		putString(agent, "image", k.AgentImage)
		putString(agent, "version", k.AgentVersion)
		putString(agent, "mode", k.AgentMode)
		putStrings(agent, "extraArgs", k.AgentExtraArgs)
		konnectivity := map[string]any{}
		putMap(konnectivity, "server", server)
		putMap(konnectivity, "agent", agent)
		out["konnectivity"] = konnectivity
	}
	return out
}

func (c Component) resources() map[string]any {
	out := map[string]any{}
	putQuantities(out, "requests", c.Requests)
	putQuantities(out, "limits", c.Limits)
	return out
}

func (c Component) object() map[string]any {
	out := map[string]any{}
	putStrings(out, "extraArgs", c.ExtraArgs)
	putMap(out, "resources", c.resources())
	return out
}

func (k Kubelet) object() map[string]any {
	out := map[string]any{}
	putStrings(out, "preferredAddressTypes", k.PreferredAddressTypes)
	if len(k.ConfigPatches) > 0 {
		patches := make([]any, 0, len(k.ConfigPatches))
		for _, p := range k.ConfigPatches {
			m := map[string]any{"op": p.Op, "path": p.Path}
			putString(m, "from", p.From)
			if p.Value != nil {
				var v any
				if err := json.Unmarshal(p.Value, &v); err == nil {
					m["value"] = v
				}
			}
			patches = append(patches, m)
		}
		out["configurationJSONPatches"] = patches
	}
	return out
}

func putString(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

func putInt(m map[string]any, key string, v *int64) {
	if v != nil {
		m[key] = *v
	}
}

func putStrings(m map[string]any, key string, v []string) {
	if v != nil {
		m[key] = stringsToList(v)
	}
}

func putStringMap(m map[string]any, key string, v map[string]string) {
	if v != nil {
		m[key] = stringsToAny(v)
	}
}

func putMap(m map[string]any, key string, v map[string]any) {
	if len(v) > 0 {
		m[key] = v
	}
}

func putMeta(m map[string]any, key string, labels, annotations map[string]string) {
	meta := map[string]any{}
	putStringMap(meta, "labels", labels)
	putStringMap(meta, "annotations", annotations)
	putMap(m, key, meta)
}

// putCIDRs writes a single-stack range to the field Kamaji has always had (serviceCidr,
// podCidr), which older Kamaji releases know too, and a dual-stack pair to the list field
// of Kamaji 26.x (serviceCidrs, podCidrs) with the first range in the single field.
func putCIDRs(m map[string]any, key string, cidrs []string) {
	if len(cidrs) == 0 {
		return
	}
	m[key] = cidrs[0]
	if len(cidrs) > 1 {
		m[key+"s"] = stringsToList(cidrs)
	}
}

func putQuantities(m map[string]any, key string, q map[string]resource.Quantity) {
	if len(q) == 0 {
		return
	}
	out := make(map[string]any, len(q))
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q[k]
		out[k] = v.String()
	}
	m[key] = out
}

func stringsToList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func stringsToAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
