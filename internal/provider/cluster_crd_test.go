package provider

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/crds"
)

// crdField maps a field of the TenantControlPlane's spec to the qumulus_cluster attribute
// it is written from, with sample values: every constraint of the field's schema must
// refuse at least one sample, and the attribute's validators must refuse every sample the
// CRD refuses and accept every one it accepts (except the stricter ones).
type crdField struct {
	crd  string // dotted path under spec; [] for list items
	attr string // dotted attribute path (through nested objects and list nested objects)
	// samples are values of the CRD field (string, int64, []any, map[string]any).
	samples []any
	// stricter are samples the CRD accepts and the provider refuses on purpose.
	stricter []any
	// replaces is set when the field is immutable (a self == oldSelf rule) and the
	// attribute replaces the cluster when changed.
	replaces bool
}

var quantitySamples = []any{map[string]any{"cpu": "250m", "memory": "1Gi"}, map[string]any{"cpu": "1 core"}, map[string]any{"cpu": "1e3"}}

var tcpFields = []crdField{
	{crd: "networkProfile.address", attr: "network.address", samples: []any{"203.0.113.10", "api.example.com"}},
	{crd: "networkProfile.advertiseAddress", attr: "network.advertise_address", samples: []any{"192.0.2.10", "fd00::10", "api.example.com", "300.1.1.1"},
		stricter: []any{""}},
	{crd: "networkProfile.port", attr: "network.port", samples: []any{int64(6443), int64(math.MaxInt32 + 1)}, stricter: []any{int64(0), int64(70000)}},
	{crd: "networkProfile.certSANs", attr: "network.cert_sans", samples: []any{[]any{"api.example.com"}, []any{}}},
	{crd: "networkProfile.serviceCidrs", attr: "network.service_cidrs",
		samples:  []any{[]any{"10.96.0.0/16"}, []any{"10.96.0.0/16", "fd00::/112"}, []any{}, []any{"10.96.0.0/16", "fd00::/112", "10.1.0.0/16"}, []any{"10.96.0.0"}},
		stricter: []any{[]any{"10.96.0.1/16"}}, replaces: true},
	{crd: "networkProfile.podCidrs", attr: "network.pod_cidrs",
		samples:  []any{[]any{"10.244.0.0/16"}, []any{}, []any{"10.244.0.0/16", "fd00::/56", "10.1.0.0/16"}, []any{"x"}},
		stricter: []any{[]any{"10.244.0.1/16"}}, replaces: true},
	{crd: "networkProfile.dnsServiceIPs", attr: "network.dns_service_ips",
		samples:  []any{[]any{"10.96.0.10"}, []any{"10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6", "10.96.0.7", "10.96.0.8", "10.96.0.9"}},
		stricter: []any{[]any{}, []any{"not-an-ip"}, []any{"10.96.0.10", "10.96.0.10"}}},
	{crd: "networkProfile.clusterDomain", attr: "network.cluster_domain", samples: []any{"cluster.local", "cluster", "acme.internal"},
		stricter: []any{"Cluster.Local", "a..b"}, replaces: true},
	{crd: "networkProfile.loadBalancerClass", attr: "network.load_balancer_class", samples: []any{"metallb", ""}, replaces: true},
	{crd: "networkProfile.loadBalancerSourceRanges", attr: "network.load_balancer_source_ranges",
		samples: []any{[]any{"10.0.0.0/8"}, []any{}, []any{"10.0.0.0"}, sixteenPlusOne()}},
	{crd: "controlPlane.service.serviceType", attr: "network.service_type", samples: []any{"LoadBalancer", "ClusterIP", "NodePort", "Ingress"}},
	{crd: "controlPlane.deployment.replicas", attr: "replicas", samples: []any{int64(2), int64(0), int64(math.MaxInt32 + 1)}, stricter: []any{int64(-1)}},
	{crd: "controlPlane.deployment.extraArgs.apiServer", attr: "api_server.extra_args", samples: []any{[]any{"--v=2"}, []any{}}, stricter: []any{[]any{"v=2"}}},
	{crd: "controlPlane.deployment.extraArgs.controllerManager", attr: "controller_manager.extra_args", samples: []any{[]any{"--v=2"}}},
	{crd: "controlPlane.deployment.extraArgs.scheduler", attr: "scheduler.extra_args", samples: []any{[]any{"--v=2"}}},
	{crd: "controlPlane.deployment.resources.apiServer.requests", attr: "api_server.requests", samples: quantitySamples},
	{crd: "controlPlane.deployment.resources.apiServer.limits", attr: "api_server.limits", samples: quantitySamples},
	{crd: "controlPlane.deployment.resources.controllerManager.requests", attr: "controller_manager.requests", samples: quantitySamples},
	{crd: "controlPlane.deployment.resources.controllerManager.limits", attr: "controller_manager.limits", samples: quantitySamples},
	{crd: "controlPlane.deployment.resources.scheduler.requests", attr: "scheduler.requests", samples: quantitySamples},
	{crd: "controlPlane.deployment.resources.scheduler.limits", attr: "scheduler.limits", samples: quantitySamples, stricter: []any{map[string]any{"cpu": "-1"}}},
	{crd: "kubernetes.version", attr: "version", samples: []any{"v1.35.0"}, stricter: []any{"latest"}},
	{crd: "kubernetes.kubelet.preferredAddressTypes", attr: "kubelet.preferred_address_types",
		samples: []any{[]any{"InternalIP", "Hostname"}, []any{}, []any{"PublicIP"}, []any{"InternalIP", "InternalIP"}}},
	{crd: "kubernetes.kubelet.configurationJSONPatches[].op", attr: "kubelet.config_patches.op", samples: []any{"replace", "set"}},
	{crd: "kubernetes.kubelet.configurationJSONPatches[].path", attr: "kubelet.config_patches.path", samples: []any{"/cgroupDriver"},
		stricter: []any{"cgroupDriver"}},
	{crd: "kubernetes.kubelet.configurationJSONPatches[].from", attr: "kubelet.config_patches.from", samples: []any{"/a"}, stricter: []any{"a"}},
	{crd: "addons.coreDNS.imageRepository", attr: "addons.core_dns.image_repository", samples: []any{"registry.k8s.io/coredns"}},
	{crd: "addons.coreDNS.imageTag", attr: "addons.core_dns.image_tag", samples: []any{"v1.12.0"}},
	{crd: "addons.kubeProxy.imageRepository", attr: "addons.kube_proxy.image_repository", samples: []any{"registry.k8s.io"}},
	{crd: "addons.kubeProxy.imageTag", attr: "addons.kube_proxy.image_tag", samples: []any{"v1.35.0"}},
	{crd: "addons.konnectivity.server.image", attr: "addons.konnectivity.server_image", samples: []any{"registry.k8s.io/kas-network-proxy/proxy-server"}},
	{crd: "addons.konnectivity.server.version", attr: "addons.konnectivity.server_version", samples: []any{"v0.33.0"}},
	{crd: "addons.konnectivity.server.port", attr: "addons.konnectivity.server_port", samples: []any{int64(8132), int64(math.MaxInt32 + 1)},
		stricter: []any{int64(0)}},
	{crd: "addons.konnectivity.server.extraArgs", attr: "addons.konnectivity.server_extra_args", samples: []any{[]any{"--v=2"}}},
	{crd: "addons.konnectivity.agent.image", attr: "addons.konnectivity.agent_image", samples: []any{"registry.k8s.io/kas-network-proxy/proxy-agent"}},
	{crd: "addons.konnectivity.agent.version", attr: "addons.konnectivity.agent_version", samples: []any{"v0.33.0"}},
	{crd: "addons.konnectivity.agent.mode", attr: "addons.konnectivity.agent_mode", samples: []any{"DaemonSet", "Deployment", "Pod"}},
	{crd: "addons.konnectivity.agent.extraArgs", attr: "addons.konnectivity.agent_extra_args", samples: []any{[]any{"--v=2"}}},
	{crd: "dataStore", attr: "data_store", samples: []any{"default"}},
	{crd: "dataStoreSchema", attr: "data_store_schema", samples: []any{"acme_prod"}, replaces: true},
	{crd: "dataStoreUsername", attr: "data_store_username", samples: []any{"acme_prod"}, replaces: true},
}

func sixteenPlusOne() []any {
	var out []any
	for i := range 17 {
		out = append(out, fmt.Sprintf("10.%d.0.0/16", i))
	}
	return out
}

// celRules are the CRD's CEL rules on mapped fields that this test can evaluate.
var celRules = map[string]func(v any) bool{
	"self == '' || isIP(self)": func(v any) bool {
		s, _ := v.(string)
		_, err := netip.ParseAddr(s)
		return s == "" || err == nil
	},
	"self == '' || isCIDR(self)": func(v any) bool {
		s, _ := v.(string)
		_, err := netip.ParsePrefix(s)
		return s == "" || err == nil
	},
	"self.all(x, isCIDR(x))": allCIDRs,
	"self.all(r, isCIDR(r))": allCIDRs,
}

func allCIDRs(v any) bool {
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		if _, err := netip.ParsePrefix(s); err != nil {
			return false
		}
	}
	return true
}

// TestClusterMirrorsKamajiCRD checks that qumulus_cluster refuses at plan what the
// TenantControlPlane CRD's schema refuses, field by mapped field.
func TestClusterMirrorsKamajiCRD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	set, err := crds.Load(ctx)
	if err != nil {
		t.Fatalf("loading the CRDs: %v", err)
	}
	var spec *apiextensionsv1.JSONSchemaProps
	for _, c := range set.CRDs {
		if c.Spec.Names.Kind != kamaji.TenantControlPlaneGVK.Kind {
			continue
		}
		for _, v := range c.Spec.Versions {
			if v.Name == kamaji.GroupVersion.Version && v.Schema != nil {
				s := v.Schema.OpenAPIV3Schema.Properties["spec"]
				spec = &s
			}
		}
	}
	if spec == nil {
		t.Fatalf("no TenantControlPlane %s schema in %s", kamaji.GroupVersion.Version, set)
	}
	s := clusterSchema(ctx)
	for _, f := range tcpFields {
		t.Run(f.crd, func(t *testing.T) {
			field := crdFieldSchema(spec, f.crd)
			if field == nil && !set.Upstream {
				t.Skipf("the fallback CRD (Kamaji %s) predates spec.%s", crds.FallbackKamajiVersion, f.crd)
			}
			if field == nil {
				t.Fatalf("the CRD (%s) has no field spec.%s", set, f.crd)
			}
			a := schemaAttribute(s, f.attr)
			if a == nil {
				t.Fatalf("qumulus_cluster has no attribute %s", f.attr)
			}
			violated := map[string]bool{}
			for _, sample := range append(slices.Clone(f.samples), f.stricter...) {
				broken := crdViolations(field, sample)
				for _, b := range broken {
					violated[b] = true
				}
				refused := attributeRefuses(ctx, a, f.attr, sample)
				stricter := slices.ContainsFunc(f.stricter, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(sample) })
				switch {
				case len(broken) > 0 && stricter:
					t.Errorf("sample %#v is listed as stricter, but the CRD refuses it too (%v): move it to samples", sample, broken)
				case len(broken) > 0 && !refused:
					t.Errorf("the CRD refuses %#v (%s) but %s accepts it: mirror the rule in the attribute's validators", sample, strings.Join(broken, ", "), f.attr)
				case len(broken) == 0 && refused && !stricter && set.Upstream:
					// (The older fallback CRD lacks constraints the provider mirrors.)
					t.Errorf("the CRD accepts %#v but %s refuses it", sample, f.attr)
				case len(broken) == 0 && !refused && stricter:
					t.Errorf("%s accepts the stricter sample %#v", f.attr, sample)
				}
			}
			for _, c := range crdConstraints(field, "") {
				if strings.HasPrefix(c, "transition:") {
					if !f.replaces {
						t.Errorf("the CRD makes the field immutable (%s) but the table does not say that %s replaces", c, f.attr)
					}
					continue
				}
				if !violated[c] {
					t.Errorf("no sample breaks the CRD's constraint %s: add one that does, and mirror the constraint in %s", c, f.attr)
				}
			}
			if f.replaces && !strings.Contains(a.GetMarkdownDescription(), "replaces the cluster") {
				t.Errorf("%s is immutable in Kamaji but its description does not say that changing it replaces the cluster", f.attr)
			}
		})
	}
}

// crdFieldSchema finds the schema of a dotted field path ([] for list items).
func crdFieldSchema(spec *apiextensionsv1.JSONSchemaProps, p string) *apiextensionsv1.JSONSchemaProps {
	cur := spec
	for _, part := range strings.Split(p, ".") {
		name, items := strings.CutSuffix(part, "[]")
		next, ok := cur.Properties[name]
		if !ok {
			return nil
		}
		cur = &next
		if items {
			if cur.Items == nil || cur.Items.Schema == nil {
				return nil
			}
			cur = cur.Items.Schema
		}
	}
	return cur
}

// crdConstraints names the constraints of a field schema, as crdViolations reports them.
func crdConstraints(f *apiextensionsv1.JSONSchemaProps, prefix string) []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, prefix+name)
		}
	}
	add(f.Pattern != "", "pattern")
	add(len(f.Enum) > 0, "enum")
	add(f.Minimum != nil, "minimum")
	add(f.Maximum != nil, "maximum")
	add(f.MinLength != nil, "minLength")
	add(f.MaxLength != nil, "maxLength")
	add(f.MinItems != nil, "minItems")
	add(f.MaxItems != nil, "maxItems")
	add(f.MinProperties != nil, "minProperties")
	add(f.MaxProperties != nil, "maxProperties")
	add(f.Format == "int32", "int32")
	add(f.XListType != nil && *f.XListType == "set", "unique")
	for _, r := range f.XValidations {
		if strings.Contains(r.Rule, "oldSelf") {
			out = append(out, "transition:"+r.Rule)
		} else {
			out = append(out, prefix+"cel:"+r.Rule)
		}
	}
	if f.Items != nil && f.Items.Schema != nil {
		out = append(out, crdConstraints(f.Items.Schema, prefix+"items.")...)
	}
	if f.AdditionalProperties != nil && f.AdditionalProperties.Schema != nil {
		out = append(out, crdConstraints(f.AdditionalProperties.Schema, prefix+"values.")...)
	}
	return out
}

// crdViolations evaluates a value against a field schema and returns the constraints it
// breaks. A constraint it does not know is reported as broken for every value, so that
// the test fails until it learns it.
func crdViolations(f *apiextensionsv1.JSONSchemaProps, v any) []string {
	var out []string
	for _, c := range crdConstraints(f, "") {
		if strings.HasPrefix(c, "transition:") || strings.HasPrefix(c, "items.") || strings.HasPrefix(c, "values.") {
			continue
		}
		if !crdHolds(f, c, v) {
			out = append(out, c)
		}
	}
	if l, ok := v.([]any); ok && f.Items != nil && f.Items.Schema != nil {
		for _, x := range l {
			for _, c := range crdViolations(f.Items.Schema, x) {
				out = append(out, "items."+c)
			}
		}
	}
	if m, ok := v.(map[string]any); ok && f.AdditionalProperties != nil && f.AdditionalProperties.Schema != nil {
		for _, x := range m {
			for _, c := range crdViolations(f.AdditionalProperties.Schema, x) {
				out = append(out, "values."+c)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func crdHolds(f *apiextensionsv1.JSONSchemaProps, c string, v any) bool {
	s, isString := v.(string)
	n, isInt := v.(int64)
	l, isList := v.([]any)
	m, isMap := v.(map[string]any)
	switch {
	case c == "pattern":
		return !isString || regexp.MustCompile(f.Pattern).MatchString(s)
	case c == "enum":
		return slices.ContainsFunc(f.Enum, func(e apiextensionsv1.JSON) bool { return string(e.Raw) == fmt.Sprintf("%q", s) })
	case c == "minimum":
		return !isInt || float64(n) >= *f.Minimum
	case c == "maximum":
		return !isInt || float64(n) <= *f.Maximum
	case c == "minLength":
		return !isString || int64(len(s)) >= *f.MinLength
	case c == "maxLength":
		return !isString || int64(len(s)) <= *f.MaxLength
	case c == "minItems":
		return !isList || int64(len(l)) >= *f.MinItems
	case c == "maxItems":
		return !isList || int64(len(l)) <= *f.MaxItems
	case c == "minProperties":
		return !isMap || int64(len(m)) >= *f.MinProperties
	case c == "maxProperties":
		return !isMap || int64(len(m)) <= *f.MaxProperties
	case c == "int32":
		return !isInt || n >= math.MinInt32 && n <= math.MaxInt32
	case c == "unique":
		seen := map[string]bool{}
		for _, x := range l {
			if seen[fmt.Sprint(x)] {
				return false
			}
			seen[fmt.Sprint(x)] = true
		}
		return true
	case strings.HasPrefix(c, "cel:"):
		if rule, ok := celRules[strings.TrimPrefix(c, "cel:")]; ok {
			return rule(v)
		}
	}
	return false
}

// schemaAttribute finds an attribute by dotted path.
func schemaAttribute(s schema.Schema, p string) schema.Attribute {
	attrs := s.Attributes
	var a schema.Attribute
	for _, name := range strings.Split(p, ".") {
		if attrs == nil {
			return nil
		}
		a = attrs[name]
		switch n := a.(type) {
		case schema.SingleNestedAttribute:
			attrs = n.Attributes
		case schema.ListNestedAttribute:
			attrs = n.NestedObject.Attributes
		default:
			attrs = nil
		}
	}
	return a
}

// attributeRefuses runs the attribute's validators on a sample.
func attributeRefuses(ctx context.Context, a schema.Attribute, p string, sample any) bool {
	at := path.Empty()
	for _, name := range strings.Split(p, ".") {
		at = at.AtName(name)
	}
	var diags diag.Diagnostics
	strs := func(l []any) []attr.Value {
		out := make([]attr.Value, 0, len(l))
		for _, x := range l {
			out = append(out, types.StringValue(fmt.Sprint(x)))
		}
		return out
	}
	switch a := a.(type) {
	case schema.StringAttribute:
		for _, v := range a.Validators {
			resp := &validator.StringResponse{}
			v.ValidateString(ctx, validator.StringRequest{Path: at, ConfigValue: types.StringValue(sample.(string))}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.Int64Attribute:
		for _, v := range a.Validators {
			resp := &validator.Int64Response{}
			v.ValidateInt64(ctx, validator.Int64Request{Path: at, ConfigValue: types.Int64Value(sample.(int64))}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.ListAttribute:
		l := types.ListValueMust(types.StringType, strs(sample.([]any)))
		for _, v := range a.Validators {
			resp := &validator.ListResponse{}
			v.ValidateList(ctx, validator.ListRequest{Path: at, ConfigValue: l}, resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.MapAttribute:
		elems := map[string]attr.Value{}
		for k, x := range sample.(map[string]any) {
			elems[k] = types.StringValue(fmt.Sprint(x))
		}
		m := types.MapValueMust(types.StringType, elems)
		for _, v := range a.Validators {
			resp := &validator.MapResponse{}
			v.ValidateMap(ctx, validator.MapRequest{Path: at, ConfigValue: m}, resp)
			diags.Append(resp.Diagnostics...)
		}
	default:
		panic(fmt.Sprintf("%s: attribute type %T not handled", p, a))
	}
	return diags.HasError()
}
