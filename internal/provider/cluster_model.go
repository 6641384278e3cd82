package provider

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

type clusterModel struct {
	ID                   types.String   `tfsdk:"id"`
	Namespace            types.String   `tfsdk:"namespace"`
	Name                 types.String   `tfsdk:"name"`
	Version              types.String   `tfsdk:"version"`
	Replicas             types.Int64    `tfsdk:"replicas"`
	DataStore            types.String   `tfsdk:"data_store"`
	DataStoreSchema      types.String   `tfsdk:"data_store_schema"`
	DataStoreUsername    types.String   `tfsdk:"data_store_username"`
	Labels               types.Map      `tfsdk:"labels"`
	Annotations          types.Map      `tfsdk:"annotations"`
	Network              types.Object   `tfsdk:"network"`
	Addons               types.Object   `tfsdk:"addons"`
	APIServer            types.Object   `tfsdk:"api_server"`
	ControllerManager    types.Object   `tfsdk:"controller_manager"`
	Scheduler            types.Object   `tfsdk:"scheduler"`
	Kubelet              types.Object   `tfsdk:"kubelet"`
	ClusterAPI           types.Object   `tfsdk:"cluster_api"`
	WaitForReady         types.Bool     `tfsdk:"wait_for_ready"`
	Status               types.String   `tfsdk:"status"`
	InstalledVersion     types.String   `tfsdk:"installed_version"`
	Endpoint             types.String   `tfsdk:"endpoint"`
	KubeconfigSecretName types.String   `tfsdk:"kubeconfig_secret_name"`
	CACertificate        types.String   `tfsdk:"ca_certificate"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`

	// CASource is where ca_certificate was read from, kept in the private state so that a
	// refresh reads the CA Secret only when Kamaji reports a different one.
	CASource cluster.CASource `tfsdk:"-"`
}

type networkModel struct {
	ServiceType              types.String `tfsdk:"service_type"`
	ServiceLabels            types.Map    `tfsdk:"service_labels"`
	ServiceAnnotations       types.Map    `tfsdk:"service_annotations"`
	Address                  types.String `tfsdk:"address"`
	AdvertiseAddress         types.String `tfsdk:"advertise_address"`
	Port                     types.Int64  `tfsdk:"port"`
	CertSANs                 types.List   `tfsdk:"cert_sans"`
	ServiceCIDRs             types.List   `tfsdk:"service_cidrs"`
	PodCIDRs                 types.List   `tfsdk:"pod_cidrs"`
	DNSServiceIPs            types.List   `tfsdk:"dns_service_ips"`
	ClusterDomain            types.String `tfsdk:"cluster_domain"`
	LoadBalancerClass        types.String `tfsdk:"load_balancer_class"`
	LoadBalancerSourceRanges types.List   `tfsdk:"load_balancer_source_ranges"`
}

type addonsModel struct {
	CoreDNS      types.Object `tfsdk:"core_dns"`
	KubeProxy    types.Object `tfsdk:"kube_proxy"`
	Konnectivity types.Object `tfsdk:"konnectivity"`
}

type imageAddonModel struct {
	ImageRepository types.String `tfsdk:"image_repository"`
	ImageTag        types.String `tfsdk:"image_tag"`
}

type konnectivityModel struct {
	ServerImage     types.String `tfsdk:"server_image"`
	ServerVersion   types.String `tfsdk:"server_version"`
	ServerPort      types.Int64  `tfsdk:"server_port"`
	ServerExtraArgs types.List   `tfsdk:"server_extra_args"`
	AgentImage      types.String `tfsdk:"agent_image"`
	AgentVersion    types.String `tfsdk:"agent_version"`
	AgentMode       types.String `tfsdk:"agent_mode"`
	AgentExtraArgs  types.List   `tfsdk:"agent_extra_args"`
}

type componentModel struct {
	ExtraArgs types.List `tfsdk:"extra_args"`
	Requests  types.Map  `tfsdk:"requests"`
	Limits    types.Map  `tfsdk:"limits"`
}

type kubeletModel struct {
	PreferredAddressTypes types.List `tfsdk:"preferred_address_types"`
	ConfigPatches         types.List `tfsdk:"config_patches"`
}

type patchModel struct {
	Op    types.String `tfsdk:"op"`
	Path  types.String `tfsdk:"path"`
	From  types.String `tfsdk:"from"`
	Value types.String `tfsdk:"value"`
}

type clusterAPIModel struct {
	InfrastructureRef types.Object `tfsdk:"infrastructure_ref"`
}

type referenceModel struct {
	APIGroup types.String `tfsdk:"api_group"`
	Kind     types.String `tfsdk:"kind"`
	Name     types.String `tfsdk:"name"`
}

// --- configuration -> cluster.Spec. Unknown and null values are not sent. ---

func (m clusterModel) spec(ctx context.Context) (cluster.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := cluster.Spec{
		Namespace:         m.Namespace.ValueString(),
		Name:              m.Name.ValueString(),
		Replicas:          int64Ptr(m.Replicas),
		DataStore:         m.DataStore.ValueString(),
		DataStoreSchema:   m.DataStoreSchema.ValueString(),
		DataStoreUsername: m.DataStoreUsername.ValueString(),
		Labels:            mapOf(ctx, m.Labels, &diags),
		Annotations:       mapOf(ctx, m.Annotations, &diags),
	}
	v, err := kube.NormalizeVersion(m.Version.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("version"), "Invalid Kubernetes Version", err.Error())
	}
	s.Version = v

	var n networkModel
	if objectAs(ctx, m.Network, &n, &diags) {
		s.Network = cluster.Network{
			ServiceType:              n.ServiceType.ValueString(),
			ServiceLabels:            mapOf(ctx, n.ServiceLabels, &diags),
			ServiceAnnotations:       mapOf(ctx, n.ServiceAnnotations, &diags),
			Address:                  n.Address.ValueString(),
			AdvertiseAddress:         n.AdvertiseAddress.ValueString(),
			Port:                     int64Ptr(n.Port),
			CertSANs:                 listOf(ctx, n.CertSANs, &diags),
			ServiceCIDRs:             listOf(ctx, n.ServiceCIDRs, &diags),
			PodCIDRs:                 listOf(ctx, n.PodCIDRs, &diags),
			DNSServiceIPs:            listOf(ctx, n.DNSServiceIPs, &diags),
			ClusterDomain:            n.ClusterDomain.ValueString(),
			LoadBalancerClass:        n.LoadBalancerClass.ValueString(),
			LoadBalancerSourceRanges: listOf(ctx, n.LoadBalancerSourceRanges, &diags),
		}
	}

	var a addonsModel
	if objectAs(ctx, m.Addons, &a, &diags) {
		s.Addons.CoreDNS = imageAddonOf(ctx, a.CoreDNS, &diags)
		s.Addons.KubeProxy = imageAddonOf(ctx, a.KubeProxy, &diags)
		var k konnectivityModel
		if objectAs(ctx, a.Konnectivity, &k, &diags) {
			s.Addons.Konnectivity = &cluster.Konnectivity{
				ServerImage:     k.ServerImage.ValueString(),
				ServerVersion:   k.ServerVersion.ValueString(),
				ServerPort:      int64Ptr(k.ServerPort),
				ServerExtraArgs: listOf(ctx, k.ServerExtraArgs, &diags),
				AgentImage:      k.AgentImage.ValueString(),
				AgentVersion:    k.AgentVersion.ValueString(),
				AgentMode:       k.AgentMode.ValueString(),
				AgentExtraArgs:  listOf(ctx, k.AgentExtraArgs, &diags),
			}
		}
	}

	s.APIServer = componentOf(ctx, m.APIServer, &diags)
	s.ControllerManager = componentOf(ctx, m.ControllerManager, &diags)
	s.Scheduler = componentOf(ctx, m.Scheduler, &diags)

	var kl kubeletModel
	if objectAs(ctx, m.Kubelet, &kl, &diags) {
		s.Kubelet.PreferredAddressTypes = listOf(ctx, kl.PreferredAddressTypes, &diags)
		if !kl.ConfigPatches.IsNull() && !kl.ConfigPatches.IsUnknown() {
			var patches []patchModel
			diags.Append(kl.ConfigPatches.ElementsAs(ctx, &patches, false)...)
			s.Kubelet.ConfigPatches = []cluster.JSONPatch{}
			for _, p := range patches {
				jp := cluster.JSONPatch{Op: p.Op.ValueString(), Path: p.Path.ValueString(), From: p.From.ValueString()}
				if !p.Value.IsNull() && !p.Value.IsUnknown() {
					jp.Value = json.RawMessage(p.Value.ValueString())
				}
				s.Kubelet.ConfigPatches = append(s.Kubelet.ConfigPatches, jp)
			}
		}
	}

	var c clusterAPIModel
	if objectAs(ctx, m.ClusterAPI, &c, &diags) {
		s.ClusterAPI = &cluster.ClusterAPI{}
		var ref referenceModel
		if objectAs(ctx, c.InfrastructureRef, &ref, &diags) {
			s.ClusterAPI.Infrastructure = &cluster.Reference{APIGroup: ref.APIGroup.ValueString(), Kind: ref.Kind.ValueString(), Name: ref.Name.ValueString()}
		}
	}
	return s, diags
}

func imageAddonOf(ctx context.Context, o types.Object, diags *diag.Diagnostics) *cluster.ImageAddon {
	var m imageAddonModel
	if !objectAs(ctx, o, &m, diags) {
		return nil
	}
	return &cluster.ImageAddon{ImageRepository: m.ImageRepository.ValueString(), ImageTag: m.ImageTag.ValueString()}
}

func componentOf(ctx context.Context, o types.Object, diags *diag.Diagnostics) cluster.Component {
	var m componentModel
	if !objectAs(ctx, o, &m, diags) {
		return cluster.Component{}
	}
	return cluster.Component{
		ExtraArgs: listOf(ctx, m.ExtraArgs, diags),
		Requests:  quantityMap(ctx, m.Requests, diags),
		Limits:    quantityMap(ctx, m.Limits, diags),
	}
}

// --- observed objects -> state, keeping the prior spelling of equal values. ---

func (m *clusterModel) fromObserved(ctx context.Context, o *cluster.Observed, prior clusterModel) diag.Diagnostics {
	var diags diag.Diagnostics
	s := o.Spec
	m.ID = types.StringValue(s.Namespace + "/" + s.Name)
	m.Namespace = types.StringValue(s.Namespace)
	m.Name = types.StringValue(s.Name)
	m.Version = types.StringValue(s.Version)
	if !prior.Version.IsNull() && !prior.Version.IsUnknown() && kube.SameVersion(prior.Version.ValueString(), s.Version) {
		m.Version = prior.Version
	}
	m.Replicas = int64Value(s.Replicas)
	m.DataStore = optionalString(s.DataStore)
	m.DataStoreSchema = optionalString(s.DataStoreSchema)
	m.DataStoreUsername = optionalString(s.DataStoreUsername)
	m.Labels = stringMap(s.Labels, prior.Labels)
	m.Annotations = stringMap(s.Annotations, prior.Annotations)

	n := s.Network
	var pn networkModel
	objectAs(ctx, prior.Network, &pn, &diags)
	m.Network = objectValue(ctx, attrTypes("network"), networkModel{
		ServiceType:              optionalString(n.ServiceType),
		ServiceLabels:            observedMap(n.ServiceLabels, pn.ServiceLabels),
		ServiceAnnotations:       observedMap(n.ServiceAnnotations, pn.ServiceAnnotations),
		Address:                  optionalString(n.Address),
		AdvertiseAddress:         optionalString(n.AdvertiseAddress),
		Port:                     int64Value(n.Port),
		CertSANs:                 observedList(n.CertSANs, pn.CertSANs),
		ServiceCIDRs:             nullableList(n.ServiceCIDRs),
		PodCIDRs:                 nullableList(n.PodCIDRs),
		DNSServiceIPs:            nullableList(n.DNSServiceIPs),
		ClusterDomain:            optionalString(n.ClusterDomain),
		LoadBalancerClass:        optionalString(n.LoadBalancerClass),
		LoadBalancerSourceRanges: observedList(n.LoadBalancerSourceRanges, pn.LoadBalancerSourceRanges),
	}, &diags)

	// An empty addons = {} sends nothing and reads back as nothing: keep its shape.
	m.Addons = emptyLike(prior.Addons, attrTypes("addons"))
	if a := s.Addons; a.CoreDNS != nil || a.KubeProxy != nil || a.Konnectivity != nil {
		addons := addonsModel{
			CoreDNS:      imageAddonValue(ctx, a.CoreDNS, attrTypes("addons", "core_dns"), &diags),
			KubeProxy:    imageAddonValue(ctx, a.KubeProxy, attrTypes("addons", "kube_proxy"), &diags),
			Konnectivity: types.ObjectNull(attrTypes("addons", "konnectivity")),
		}
		if k := a.Konnectivity; k != nil {
			var pa addonsModel
			var pk konnectivityModel
			if objectAs(ctx, prior.Addons, &pa, &diags) {
				objectAs(ctx, pa.Konnectivity, &pk, &diags)
			}
			addons.Konnectivity = objectValue(ctx, attrTypes("addons", "konnectivity"), konnectivityModel{
				ServerImage:     optionalString(k.ServerImage),
				ServerVersion:   optionalString(k.ServerVersion),
				ServerPort:      int64Value(k.ServerPort),
				ServerExtraArgs: observedList(k.ServerExtraArgs, pk.ServerExtraArgs),
				AgentImage:      optionalString(k.AgentImage),
				AgentVersion:    optionalString(k.AgentVersion),
				AgentMode:       optionalString(k.AgentMode),
				AgentExtraArgs:  observedList(k.AgentExtraArgs, pk.AgentExtraArgs),
			}, &diags)
		}
		m.Addons = objectValue(ctx, attrTypes("addons"), addons, &diags)
	}

	m.APIServer = componentValue(ctx, s.APIServer, prior.APIServer, "api_server", &diags)
	m.ControllerManager = componentValue(ctx, s.ControllerManager, prior.ControllerManager, "controller_manager", &diags)
	m.Scheduler = componentValue(ctx, s.Scheduler, prior.Scheduler, "scheduler", &diags)

	var priorKubelet kubeletModel
	objectAs(ctx, prior.Kubelet, &priorKubelet, &diags)
	kl := kubeletModel{
		PreferredAddressTypes: nullableList(s.Kubelet.PreferredAddressTypes),
		ConfigPatches:         types.ListNull(types.ObjectType{AttrTypes: attrTypes("kubelet", "config_patches")}),
	}
	if s.Kubelet.ConfigPatches == nil && isEmpty(priorKubelet.ConfigPatches) {
		// config_patches = [] sends nothing.
		kl.ConfigPatches = priorKubelet.ConfigPatches
	}
	if s.Kubelet.ConfigPatches != nil {
		var priorPatches []patchModel
		if !priorKubelet.ConfigPatches.IsNull() && !priorKubelet.ConfigPatches.IsUnknown() {
			diags.Append(priorKubelet.ConfigPatches.ElementsAs(ctx, &priorPatches, false)...)
		}
		patches := make([]patchModel, 0, len(s.Kubelet.ConfigPatches))
		for i, p := range s.Kubelet.ConfigPatches {
			pm := patchModel{Op: types.StringValue(p.Op), Path: types.StringValue(p.Path), From: optionalString(p.From), Value: types.StringNull()}
			if p.Value != nil {
				pm.Value = types.StringValue(string(p.Value))
				// Keep the configuration's spelling of an equal JSON value.
				if i < len(priorPatches) && sameJSON(priorPatches[i].Value.ValueString(), string(p.Value)) {
					pm.Value = priorPatches[i].Value
				}
			}
			patches = append(patches, pm)
		}
		l, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: attrTypes("kubelet", "config_patches")}, patches)
		diags.Append(d...)
		kl.ConfigPatches = l
	}
	m.Kubelet = objectValue(ctx, attrTypes("kubelet"), kl, &diags)

	m.ClusterAPI = types.ObjectNull(attrTypes("cluster_api"))
	if c := s.ClusterAPI; c != nil {
		ref := types.ObjectNull(attrTypes("cluster_api", "infrastructure_ref"))
		if r := c.Infrastructure; r != nil {
			ref = objectValue(ctx, attrTypes("cluster_api", "infrastructure_ref"), referenceModel{
				APIGroup: types.StringValue(r.APIGroup), Kind: types.StringValue(r.Kind), Name: types.StringValue(r.Name),
			}, &diags)
		}
		m.ClusterAPI = objectValue(ctx, attrTypes("cluster_api"), clusterAPIModel{InfrastructureRef: ref}, &diags)
	}
	if m.WaitForReady.IsNull() || m.WaitForReady.IsUnknown() {
		m.WaitForReady = types.BoolValue(true)
	}
	m.setStatus(o.Status, o.CACertificate)
	m.CASource = o.CASource
	return diags
}

// statusPending is the status while there is no TenantControlPlane yet.
const statusPending = "Pending"

// statusIncomplete is the status of a Cluster API mode cluster whose Cluster or
// KamajiControlPlane was deleted out of band: the next apply writes it again.
const statusIncomplete = "Incomplete"

func (m *clusterModel) setStatus(st cluster.Status, ca string) {
	phase := st.Phase
	if !st.Found {
		phase = statusPending
	}
	m.Status = types.StringValue(phase)
	m.InstalledVersion = types.StringValue(st.InstalledVersion)
	m.Endpoint = types.StringValue(st.Endpoint)
	m.KubeconfigSecretName = types.StringValue(st.KubeconfigSecret)
	m.CACertificate = types.StringValue(ca)
}

func componentValue(ctx context.Context, c cluster.Component, prior types.Object, name string, diags *diag.Diagnostics) types.Object {
	types_ := attrTypes(name)
	if c.ExtraArgs == nil && c.Requests == nil && c.Limits == nil && (prior.IsNull() || prior.IsUnknown()) {
		return types.ObjectNull(types_)
	}
	var p componentModel
	objectAs(ctx, prior, &p, diags)
	return objectValue(ctx, types_, componentModel{
		ExtraArgs: observedList(c.ExtraArgs, p.ExtraArgs),
		Requests:  spelledQuantities(ctx, c.Requests, p.Requests, diags),
		Limits:    spelledQuantities(ctx, c.Limits, p.Limits, diags),
	}, diags)
}

func spelledQuantities(ctx context.Context, q map[string]resource.Quantity, prior types.Map, diags *diag.Diagnostics) types.Map {
	if q == nil {
		return observedMap(nil, prior)
	}
	if prior.IsNull() {
		prior = types.MapValueMust(types.StringType, map[string]attr.Value{})
	}
	return quantityValues(ctx, maps.Clone(q), prior, diags)
}

func imageAddonValue(ctx context.Context, a *cluster.ImageAddon, t map[string]attr.Type, diags *diag.Diagnostics) types.Object {
	if a == nil {
		return types.ObjectNull(t)
	}
	return objectValue(ctx, t, imageAddonModel{ImageRepository: optionalString(a.ImageRepository), ImageTag: optionalString(a.ImageTag)}, diags)
}

// An empty collection means none, as unset does: the provider may send nothing for it and
// then reads nothing back. observedList and observedMap keep an empty prior value (the
// configuration's) when nothing was read, so that [] and {} stay as written, with no drift.

func observedList(observed []string, prior types.List) types.List {
	if observed == nil && isEmpty(prior) {
		return prior
	}
	return nullableList(observed)
}

func observedMap(observed map[string]string, prior types.Map) types.Map {
	if observed == nil && !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
		return prior
	}
	return nullableMap(observed)
}

// isEmpty reports whether l is a known, empty list.
func isEmpty(l types.List) bool {
	return !l.IsNull() && !l.IsUnknown() && len(l.Elements()) == 0
}

// emptyLike is null, or an object of nulls when prior was one: a configured but empty
// object (api_server = {}) sends nothing and reads back as nothing.
func emptyLike(prior types.Object, t map[string]attr.Type) types.Object {
	if prior.IsNull() || prior.IsUnknown() {
		return types.ObjectNull(t)
	}
	nulls := make(map[string]attr.Value, len(t))
	for k, at := range t {
		v, err := at.ValueFromTerraform(context.Background(), tftypes.NewValue(at.TerraformType(context.Background()), nil))
		if err != nil {
			return types.ObjectNull(t)
		}
		nulls[k] = v
	}
	return types.ObjectValueMust(t, nulls)
}

// sameJSON reports whether a and b are the same JSON value, numbers compared by value:
// the API server stores 1.0 as 1. (jsontypes.Normalized compares numbers as written, so
// its semantic equality would call them different and break the apply.)
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
