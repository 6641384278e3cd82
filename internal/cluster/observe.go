package cluster

import (
	"encoding/json"
	"maps"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// CACertificateKey is the key of the public CA certificate in Kamaji's CA Secret.
const CACertificateKey = "ca.crt"

// Observed is what the management cluster holds for one cluster.
type Observed struct {
	// Spec is read back from the objects the provider writes (the TenantControlPlane, or
	// the Cluster and KamajiControlPlane). Labels and annotations hold only the keys the
	// provider applied, without its ownership labels.
	Spec   Spec
	Status Status
	// CACertificate is the PEM CA certificate of the tenant API server ("" until Kamaji
	// has written it). Never the key.
	CACertificate string
	// CASource is where CACertificate came from, to pass back to Observe as a KnownCA.
	CASource CASource
	// Missing names the objects of a Cluster API mode cluster that were deleted out of
	// band while the other remains ("KamajiControlPlane tenant-a/prod"); Spec then has
	// nothing of them and is incomplete. Apply writes them again.
	Missing []string
}

// CASource is the CA Secret a CA certificate is read from, and the checksum Kamaji
// reported for that Secret's content when it was read.
type CASource struct {
	Secret   string `json:"secret"`
	Checksum string `json:"checksum"`
}

// KnownCA is a CA certificate read by an earlier Observe, with its source.
type KnownCA struct {
	Certificate string
	Source      CASource
}

// emptyChecksum is Kamaji's checksum of no data (the MD5 of nothing). Kamaji releases that
// summed the CA Secret's empty stringData instead of its data report it for every CA, so
// it cannot tell that the CA changed.
const emptyChecksum = "d41d8cd98f00b204e9800998ecf8427e"

// unchanged reports whether a certificate read from known is still the one in source:
// Kamaji names the same Secret and reports the same checksum for it.
func (known KnownCA) unchanged(source CASource) bool {
	return known.Certificate != "" && known.Source == source && source.Checksum != "" && source.Checksum != emptyChecksum
}

// Status is the TenantControlPlane's status as Kamaji reports it.
type Status struct {
	// Found is false while there is no TenantControlPlane (in Cluster API mode, before
	// Kamaji's provider has made it).
	Found bool
	// Deleting is true once the TenantControlPlane is being deleted.
	Deleting bool
	// Phase is status.kubernetesResources.version.status: Provisioning, Upgrading, Ready, ...
	Phase string
	// InstalledVersion is status.kubernetesResources.version.version; RequestedVersion
	// is spec.kubernetes.version.
	InstalledVersion, RequestedVersion string
	// SpecReplicas is spec.controlPlane.deployment.replicas: what the TenantControlPlane
	// asks for, not what runs.
	SpecReplicas *int64
	// Deployment is status.kubernetesResources.deployment: the control plane pods that run.
	Deployment DeploymentStatus
	// Endpoint is status.controlPlaneEndpoint (host:port).
	Endpoint string
	// KubeconfigSecret is status.kubeconfig.admin.secretName.
	KubeconfigSecret string
	// CASecret is status.certificates.ca.secretName; CAChecksum is its checksum, which
	// changes with the CA ("" from Kamaji releases that do not report it).
	CASecret, CAChecksum string
	// DataStore is status.storage.dataStoreName, the DataStore in use.
	DataStore string
	// Generation and ObservedGeneration; ObservedReported is false when the status has
	// no observedGeneration (Kamaji releases before it, whose CRD prunes it).
	Generation, ObservedGeneration int64
	ObservedReported               bool
	Finalizers                     []string
}

// DeploymentStatus is what Kamaji copies from the control plane's Deployment.
type DeploymentStatus struct {
	// Reported is false until Kamaji has written status.kubernetesResources.deployment.
	Reported                            bool
	Replicas, Ready, Available, Updated int64
}

// Settled reports whether exactly want pods run, all ready, available and of the current
// template: a scale or rollout is over and no old pod is left.
func (d DeploymentStatus) Settled(want int64) bool {
	return d.Reported && d.Replicas == want && d.Ready == want && d.Available == want && d.Updated == want
}

// Ready reports whether the control plane serves the spec, by what Kamaji reports: Ready
// (or, scaled to zero, Sleeping) at the wanted version, the current generation observed,
// the wanted number of pods ready, available and updated with no old pod left, and the
// admin kubeconfig published. The spec checks only say the change has reached the
// TenantControlPlane (in Cluster API mode Kamaji's provider copies it over).
func (s Status) Ready(want Spec) bool {
	phaseOK := s.Phase == kamaji.StatusReady || s.Phase == kamaji.StatusSleeping && want.Replicas != nil && *want.Replicas == 0
	return s.Found && !s.Deleting && phaseOK &&
		kube.SameVersion(s.InstalledVersion, want.Version) && kube.SameVersion(s.RequestedVersion, want.Version) &&
		(want.Replicas == nil || s.SpecReplicas != nil && *s.SpecReplicas == *want.Replicas) &&
		s.Deployment.Settled(s.wantReplicas(want)) &&
		(want.DataStore == "" || s.DataStore == want.DataStore) &&
		(!s.ObservedReported || s.ObservedGeneration >= s.Generation) &&
		s.KubeconfigSecret != ""
}

// wantReplicas is the configured count, else the count in the TenantControlPlane's spec
// (Kamaji's webhook defaults it), else whatever the Deployment reports it wants.
func (s Status) wantReplicas(want Spec) int64 {
	switch {
	case want.Replicas != nil:
		return *want.Replicas
	case s.SpecReplicas != nil:
		return *s.SpecReplicas
	}
	return max(s.Deployment.Replicas, 1)
}

// StatusOf reads the status of a TenantControlPlane (nil: not found).
func StatusOf(tcp *unstructured.Unstructured) Status {
	if tcp == nil {
		return Status{}
	}
	s := Status{
		Found:            true,
		Deleting:         tcp.GetDeletionTimestamp() != nil,
		Phase:            str(tcp, "status", "kubernetesResources", "version", "status"),
		InstalledVersion: str(tcp, "status", "kubernetesResources", "version", "version"),
		RequestedVersion: str(tcp, "spec", "kubernetes", "version"),
		SpecReplicas:     integer(tcp, "spec", "controlPlane", "deployment", "replicas"),
		Endpoint:         str(tcp, "status", "controlPlaneEndpoint"),
		KubeconfigSecret: str(tcp, "status", "kubeconfig", "admin", "secretName"),
		CASecret:         str(tcp, "status", "certificates", "ca", "secretName"),
		CAChecksum:       str(tcp, "status", "certificates", "ca", "checksum"),
		DataStore:        str(tcp, "status", "storage", "dataStoreName"),
		Generation:       tcp.GetGeneration(),
		Finalizers:       tcp.GetFinalizers(),
	}
	s.ObservedGeneration, s.ObservedReported, _ = unstructured.NestedInt64(tcp.Object, "status", "observedGeneration")
	if d, found, _ := unstructured.NestedMap(tcp.Object, "status", "kubernetesResources", "deployment"); found {
		s.Deployment.Reported = true
		for into, key := range map[*int64]string{&s.Deployment.Replicas: "replicas", &s.Deployment.Ready: "readyReplicas",
			&s.Deployment.Available: "availableReplicas", &s.Deployment.Updated: "updatedReplicas"} {
			*into, _, _ = unstructured.NestedInt64(d, key)
		}
	}
	return s
}

// specFromTenantControlPlane reads a bare-mode TenantControlPlane back.
func specFromTenantControlPlane(tcp *unstructured.Unstructured) Spec {
	s := metaSpec(tcp)
	s.Version = str(tcp, "spec", "kubernetes", "version")
	s.Replicas = integer(tcp, "spec", "controlPlane", "deployment", "replicas")
	s.DataStore = str(tcp, "spec", "dataStore")
	s.DataStoreSchema = str(tcp, "spec", "dataStoreSchema")
	s.DataStoreUsername = str(tcp, "spec", "dataStoreUsername")
	s.Network = Network{
		ServiceType:              str(tcp, "spec", "controlPlane", "service", "serviceType"),
		ServiceLabels:            strMap(tcp, "spec", "controlPlane", "service", "additionalMetadata", "labels"),
		ServiceAnnotations:       strMap(tcp, "spec", "controlPlane", "service", "additionalMetadata", "annotations"),
		Address:                  str(tcp, "spec", "networkProfile", "address"),
		AdvertiseAddress:         str(tcp, "spec", "networkProfile", "advertiseAddress"),
		Port:                     integer(tcp, "spec", "networkProfile", "port"),
		CertSANs:                 strs(tcp, "spec", "networkProfile", "certSANs"),
		ServiceCIDRs:             cidrs(tcp, "serviceCidr"),
		PodCIDRs:                 cidrs(tcp, "podCidr"),
		DNSServiceIPs:            strs(tcp, "spec", "networkProfile", "dnsServiceIPs"),
		ClusterDomain:            str(tcp, "spec", "networkProfile", "clusterDomain"),
		LoadBalancerClass:        str(tcp, "spec", "networkProfile", "loadBalancerClass"),
		LoadBalancerSourceRanges: strs(tcp, "spec", "networkProfile", "loadBalancerSourceRanges"),
	}
	s.Addons = addonsOf(tcp, "spec", "addons")
	for _, c := range []struct {
		into *Component
		key  string
	}{{&s.APIServer, "apiServer"}, {&s.ControllerManager, "controllerManager"}, {&s.Scheduler, "scheduler"}} {
		*c.into = Component{
			ExtraArgs: strs(tcp, "spec", "controlPlane", "deployment", "extraArgs", c.key),
			Requests:  quantities(tcp, "spec", "controlPlane", "deployment", "resources", c.key, "requests"),
			Limits:    quantities(tcp, "spec", "controlPlane", "deployment", "resources", c.key, "limits"),
		}
	}
	s.Kubelet = kubeletOf(tcp, "spec", "kubernetes", "kubelet")
	return s
}

// specFromClusterAPI reads a Cluster API mode cluster back: the control plane from the
// KamajiControlPlane, the network from the Cluster, labels and annotations from the Cluster.
func specFromClusterAPI(cluster, kcp *unstructured.Unstructured) Spec {
	s := metaSpec(cluster)
	s.Version = str(kcp, "spec", "version")
	s.Replicas = integer(kcp, "spec", "replicas")
	s.DataStore = str(kcp, "spec", "dataStoreName")
	s.DataStoreSchema = str(kcp, "spec", "dataStoreSchema")
	s.DataStoreUsername = str(kcp, "spec", "dataStoreUsername")
	s.Network = Network{
		ServiceType:              str(kcp, "spec", "network", "serviceType"),
		ServiceLabels:            strMap(kcp, "spec", "network", "serviceLabels"),
		ServiceAnnotations:       strMap(kcp, "spec", "network", "serviceAnnotations"),
		Address:                  str(kcp, "spec", "network", "serviceAddress"),
		AdvertiseAddress:         str(kcp, "spec", "network", "advertiseAddress"),
		Port:                     integer(cluster, "spec", "clusterNetwork", "apiServerPort"),
		CertSANs:                 strs(kcp, "spec", "network", "certSANs"),
		ServiceCIDRs:             strs(cluster, "spec", "clusterNetwork", "services", "cidrBlocks"),
		PodCIDRs:                 strs(cluster, "spec", "clusterNetwork", "pods", "cidrBlocks"),
		DNSServiceIPs:            strs(kcp, "spec", "network", "dnsServiceIPs"),
		ClusterDomain:            str(cluster, "spec", "clusterNetwork", "serviceDomain"),
		LoadBalancerClass:        str(kcp, "spec", "network", "loadBalancerConfig", "loadBalancerClass"),
		LoadBalancerSourceRanges: strs(kcp, "spec", "network", "loadBalancerConfig", "loadBalancerSourceRanges"),
	}
	s.Addons = addonsOf(kcp, "spec", "addons")
	for _, c := range []struct {
		into *Component
		key  string
	}{{&s.APIServer, "apiServer"}, {&s.ControllerManager, "controllerManager"}, {&s.Scheduler, "scheduler"}} {
		*c.into = Component{
			ExtraArgs: strs(kcp, "spec", c.key, "extraArgs"),
			Requests:  quantities(kcp, "spec", c.key, "resources", "requests"),
			Limits:    quantities(kcp, "spec", c.key, "resources", "limits"),
		}
	}
	s.Kubelet = kubeletOf(kcp, "spec", "kubelet")
	s.ClusterAPI = &ClusterAPI{}
	if kind := str(cluster, "spec", "infrastructureRef", "kind"); kind != "" {
		s.ClusterAPI.Infrastructure = &Reference{
			APIGroup: str(cluster, "spec", "infrastructureRef", "apiGroup"),
			Kind:     kind,
			Name:     str(cluster, "spec", "infrastructureRef", "name"),
		}
	}
	return s
}

// metaSpec reads identity, and the labels and annotations the provider applied.
func metaSpec(o *unstructured.Unstructured) Spec {
	s := Spec{Namespace: o.GetNamespace(), Name: o.GetName(), Tenant: o.GetLabels()[kube.LabelTenant]}
	s.Labels = appliedOnly(o.GetLabels(), kube.AppliedKeys(o, "metadata", "labels"))
	for _, own := range []string{kube.LabelManagedBy, kube.LabelTenant, LabelCluster} {
		delete(s.Labels, own)
	}
	s.Annotations = appliedOnly(o.GetAnnotations(), kube.AppliedKeys(o, "metadata", "annotations"))
	return s
}

func appliedOnly(m map[string]string, applied map[string]bool) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if applied[k] {
			out[k] = v
		}
	}
	return out
}

func addonsOf(o *unstructured.Unstructured, path ...string) Addons {
	var a Addons
	at := func(p ...string) []string { return append(append([]string{}, path...), p...) }
	if has(o, at("coreDNS")...) {
		a.CoreDNS = &ImageAddon{ImageRepository: str(o, at("coreDNS", "imageRepository")...), ImageTag: str(o, at("coreDNS", "imageTag")...)}
	}
	if has(o, at("kubeProxy")...) {
		a.KubeProxy = &ImageAddon{ImageRepository: str(o, at("kubeProxy", "imageRepository")...), ImageTag: str(o, at("kubeProxy", "imageTag")...)}
	}
	if has(o, at("konnectivity")...) {
		a.Konnectivity = &Konnectivity{
			ServerImage:     str(o, at("konnectivity", "server", "image")...),
			ServerVersion:   str(o, at("konnectivity", "server", "version")...),
			ServerPort:      integer(o, at("konnectivity", "server", "port")...),
			ServerExtraArgs: strs(o, at("konnectivity", "server", "extraArgs")...),
			AgentImage:      str(o, at("konnectivity", "agent", "image")...),
			AgentVersion:    str(o, at("konnectivity", "agent", "version")...),
			AgentMode:       str(o, at("konnectivity", "agent", "mode")...),
			AgentExtraArgs:  strs(o, at("konnectivity", "agent", "extraArgs")...),
		}
	}
	return a
}

func kubeletOf(o *unstructured.Unstructured, path ...string) Kubelet {
	k := Kubelet{PreferredAddressTypes: strs(o, append(path, "preferredAddressTypes")...)}
	patches, found, _ := unstructured.NestedSlice(o.Object, append(path, "configurationJSONPatches")...)
	if !found {
		return k
	}
	k.ConfigPatches = []JSONPatch{}
	for _, p := range patches {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		jp := JSONPatch{}
		jp.Op, _ = m["op"].(string)
		jp.Path, _ = m["path"].(string)
		jp.From, _ = m["from"].(string)
		if v, ok := m["value"]; ok {
			jp.Value, _ = json.Marshal(v)
		}
		k.ConfigPatches = append(k.ConfigPatches, jp)
	}
	return k
}

// cidrs reads the Service or Pod ranges of a TenantControlPlane: the 26.x list field when
// set, else the single field.
func cidrs(tcp *unstructured.Unstructured, single string) []string {
	if list := strs(tcp, "spec", "networkProfile", single+"s"); len(list) > 0 {
		return list
	}
	if one := str(tcp, "spec", "networkProfile", single); one != "" {
		return []string{one}
	}
	return nil
}

func has(o *unstructured.Unstructured, path ...string) bool {
	_, found, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	return found
}

func str(o *unstructured.Unstructured, path ...string) string { return kube.NestedString(o, path...) }

func integer(o *unstructured.Unstructured, path ...string) *int64 {
	return kube.NestedInt64(o, path...)
}

// strs returns nil when the field is absent and an empty slice when it is an empty list.
func strs(o *unstructured.Unstructured, path ...string) []string {
	v, found, err := unstructured.NestedStringSlice(o.Object, path...)
	if !found || err != nil {
		return nil
	}
	if v == nil {
		v = []string{}
	}
	return v
}

func strMap(o *unstructured.Unstructured, path ...string) map[string]string {
	v, found, err := unstructured.NestedStringMap(o.Object, path...)
	if !found || err != nil {
		return nil
	}
	return v
}

func quantities(o *unstructured.Unstructured, path ...string) map[string]resource.Quantity {
	raw, found, err := unstructured.NestedMap(o.Object, path...)
	if !found || err != nil {
		return nil
	}
	out := make(map[string]resource.Quantity, len(raw))
	for k, v := range raw {
		var q resource.Quantity
		var err error
		switch x := v.(type) {
		case string:
			q, err = resource.ParseQuantity(x)
		case int64:
			q = *resource.NewQuantity(x, resource.DecimalSI)
		case float64:
			q, err = resource.ParseQuantity(json.Number(fmtFloat(x)).String())
		default:
			continue
		}
		if err == nil {
			out[k] = q
		}
	}
	return maps.Clone(out)
}

func fmtFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
