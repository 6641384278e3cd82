package provider

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/cloud"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
)

type openstackModel struct {
	ID                   types.String   `tfsdk:"id"`
	Namespace            types.String   `tfsdk:"namespace"`
	ClusterName          types.String   `tfsdk:"cluster_name"`
	ReleaseNamespace     types.String   `tfsdk:"release_namespace"`
	Charts               types.Object   `tfsdk:"charts"`
	OpenStackRelease     types.String   `tfsdk:"openstack_release"`
	BaseOS               types.String   `tfsdk:"base_os"`
	Features             types.List     `tfsdk:"features"`
	ValuesOverrides      types.String   `tfsdk:"values_overrides"`
	RegionName           types.String   `tfsdk:"region_name"`
	ClusterDomain        types.String   `tfsdk:"cluster_domain"`
	PublicEndpoints      types.Object   `tfsdk:"public_endpoints"`
	Services             types.Map      `tfsdk:"services"`
	Credentials          types.Map      `tfsdk:"credentials"`
	Parallelism          types.Int64    `tfsdk:"parallelism"`
	Releases             types.Map      `tfsdk:"releases"`
	GeneratedCredentials types.Map      `tfsdk:"generated_credentials"`
	KeystoneURL          types.String   `tfsdk:"keystone_url"`
	AdminUsername        types.String   `tfsdk:"admin_username"`
	AdminPassword        types.String   `tfsdk:"admin_password"`
	CloudsYAML           types.String   `tfsdk:"clouds_yaml"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

type chartsModel struct {
	Repository            types.String `tfsdk:"repository"`
	Path                  types.String `tfsdk:"path"`
	Version               types.String `tfsdk:"version"`
	Username              types.String `tfsdk:"username"`
	Password              types.String `tfsdk:"password"`
	CACertificate         types.String `tfsdk:"ca_certificate"`
	InsecureSkipTLSVerify types.Bool   `tfsdk:"insecure_skip_tls_verify"`
}

type publicEndpointsModel struct {
	Domain types.String `tfsdk:"domain"`
	Scheme types.String `tfsdk:"scheme"`
	Port   types.Int64  `tfsdk:"port"`
}

type serviceModel struct {
	Enabled  types.Bool   `tfsdk:"enabled"`
	Replicas types.Int64  `tfsdk:"replicas"`
	Version  types.String `tfsdk:"version"`
	Values   types.List   `tfsdk:"values"`
}

type releaseModel struct {
	ReleaseName    types.String `tfsdk:"release_name"`
	ChartVersion   types.String `tfsdk:"chart_version"`
	AppVersion     types.String `tfsdk:"app_version"`
	Revision       types.Int64  `tfsdk:"revision"`
	Status         types.String `tfsdk:"status"`
	ValuesChecksum types.String `tfsdk:"values_checksum"`
}

var releaseAttrTypes = map[string]attr.Type{
	"release_name": types.StringType, "chart_version": types.StringType, "app_version": types.StringType,
	"revision": types.Int64Type, "status": types.StringType, "values_checksum": types.StringType,
}

// statusMissing is the status of an enabled service whose release is not there.
const statusMissing = "missing"

// checksumKey is the key of generated_credentials that keys the values checksums.
const checksumKey = "qumulus/values_checksum_key"

func (m *openstackModel) id() string {
	return m.Namespace.ValueString() + "/" + m.ClusterName.ValueString() + "/" + m.ReleaseNamespace.ValueString()
}

// services reads the services map (nil entries for a null map).
func (m *openstackModel) services(ctx context.Context, diags *diag.Diagnostics) map[string]serviceModel {
	out := map[string]serviceModel{}
	if m.Services.IsNull() || m.Services.IsUnknown() {
		return out
	}
	diags.Append(m.Services.ElementsAs(ctx, &out, false)...)
	return out
}

// enabled lists, sorted, the services the configuration enables: the default set changed
// by the services map. ok is false while an enabled flag is unknown.
func enabledServices(services map[string]serviceModel) (names []string, ok bool) {
	on := map[string]bool{}
	for _, n := range openstack.DefaultServices() {
		on[n] = true
	}
	ok = true
	for name, s := range services {
		if s.Enabled.IsUnknown() {
			ok = false
		}
		on[name] = s.Enabled.IsNull() || s.Enabled.ValueBool()
	}
	for n, v := range on {
		if v {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, ok
}

// releasesOf reads the releases map.
func (m *openstackModel) releasesOf(ctx context.Context, diags *diag.Diagnostics) map[string]releaseModel {
	out := map[string]releaseModel{}
	if m.Releases.IsNull() || m.Releases.IsUnknown() {
		return out
	}
	diags.Append(m.Releases.ElementsAs(ctx, &out, false)...)
	return out
}

func releasesValue(ctx context.Context, rels map[string]releaseModel, diags *diag.Diagnostics) types.Map {
	v, d := types.MapValueFrom(ctx, types.ObjectType{AttrTypes: releaseAttrTypes}, rels)
	diags.Append(d...)
	return v
}

// effectiveCredentials are the generated credentials with the given ones over them.
func effectiveCredentials(generated, given map[string]string) openstack.Credentials {
	c := openstack.Credentials{}
	maps.Copy(c, generated)
	maps.Copy(c, given)
	return c
}

// generateCredentials returns prior with a new random secret for every key the enabled
// services need (and the checksum key) that neither prior nor given has. Keys no longer
// needed are kept, so that re-enabling a service finds its database user's password.
func generateCredentials(prior, given map[string]string, enabled []string) (map[string]string, error) {
	out := maps.Clone(prior)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range append(openstack.CredentialKeys(enabled), checksumKey) {
		if _, ok := out[k]; ok {
			continue
		}
		if _, ok := given[k]; ok && k != checksumKey {
			continue
		}
		s, err := openstack.NewSecret(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

// missingCredentials reports whether the enabled services need a credential (or the
// checksum key) that neither prior nor given has.
func missingCredentials(prior, given map[string]string, enabled []string) bool {
	for _, k := range append(openstack.CredentialKeys(enabled), checksumKey) {
		_, p := prior[k]
		_, g := given[k]
		if !p && (!g || k == checksumKey) {
			return true
		}
	}
	return false
}

// usedKeys are the credential keys a service's values carry.
func usedKeys(service string) []string { return openstack.CredentialKeys([]string{service}) }

// charts reads the charts block with its defaults.
func (m *openstackModel) charts(ctx context.Context, diags *diag.Diagnostics) (chartsource.Source, string) {
	var c chartsModel
	if !objectAs(ctx, m.Charts, &c, diags) {
		return chartsource.Source{Repository: defaultChartRepository}, ""
	}
	src := chartsource.Source{
		Repository: c.Repository.ValueString(), Path: c.Path.ValueString(),
		Username: c.Username.ValueString(), Password: c.Password.ValueString(),
		CACertificate: c.CACertificate.ValueString(), InsecureSkipTLSVerify: c.InsecureSkipTLSVerify.ValueBool(),
	}
	if src.Repository == "" && src.Path == "" {
		src.Repository = defaultChartRepository
	}
	return src, c.Version.ValueString()
}

// public reads public_endpoints.
func (m *openstackModel) public(ctx context.Context, diags *diag.Diagnostics) openstack.Public {
	var p publicEndpointsModel
	if !objectAs(ctx, m.PublicEndpoints, &p, diags) {
		return openstack.Public{}
	}
	return openstack.Public{Domain: p.Domain.ValueString(), Scheme: p.Scheme.ValueString(), Port: p.Port.ValueInt64()}
}

func (m *openstackModel) settings(ctx context.Context, diags *diag.Diagnostics) openstack.Settings {
	return openstack.Settings{Region: m.RegionName.ValueString(), ClusterDomain: m.ClusterDomain.ValueString(), Public: m.public(ctx, diags)}
}

// features are the override features in order: release, base OS, the others.
func (m *openstackModel) features(ctx context.Context, diags *diag.Diagnostics) []string {
	var out []string
	if r := m.OpenStackRelease.ValueString(); r != "" {
		out = append(out, r)
	}
	if m.ValuesOverrides.ValueString() != "" {
		if os := m.BaseOS.ValueString(); os != "" {
			out = append(out, os)
		}
	}
	out = append(out, listOf(ctx, m.Features, diags)...)
	return out
}

// overrideSource is the values_overrides source, nil without one.
func overrideSource(location string) openstack.OverrideSource {
	switch {
	case location == "":
		return nil
	case strings.HasPrefix(location, "https://") || strings.HasPrefix(location, "http://"):
		return openstack.URLOverrides(location, http.DefaultClient)
	default:
		return openstack.DirOverrides(location)
	}
}

func (m *openstackModel) parallelism() int {
	if m.Parallelism.IsNull() || m.Parallelism.IsUnknown() {
		return defaultParallelism
	}
	return int(m.Parallelism.ValueInt64())
}

// spec converts a plan to what package cloud installs.
func (m *openstackModel) spec(ctx context.Context, diags *diag.Diagnostics) cloud.Spec {
	src, version := m.charts(ctx, diags)
	services := m.services(ctx, diags)
	enabled, _ := enabledServices(services)
	generated := mapOf(ctx, m.GeneratedCredentials, diags)
	s := cloud.Spec{
		Namespace: m.ReleaseNamespace.ValueString(), Charts: src, Version: version,
		Features: m.features(ctx, diags), Overrides: overrideSource(m.ValuesOverrides.ValueString()),
		Settings:    m.settings(ctx, diags),
		Services:    map[string]cloud.ServiceSpec{},
		Credentials: effectiveCredentials(generated, mapOf(ctx, m.Credentials, diags)),
		ChecksumKey: generated[checksumKey], Parallel: m.parallelism(), Record: m.record(ctx, diags),
	}
	for _, name := range enabled {
		sm := services[name]
		ss := cloud.ServiceSpec{Version: sm.Version.ValueString()}
		if !sm.Replicas.IsNull() {
			ss.Replicas = int64Ptr(sm.Replicas)
		}
		for _, v := range listOf(ctx, sm.Values, diags) {
			ss.Values = append(ss.Values, []byte(v))
		}
		s.Services[name] = ss
	}
	return s
}

// openstackRecord is what the namespace's record annotation keeps of the configuration for
// an import: everything but secrets and the services' values.
type openstackRecord struct {
	Repository       string                   `json:"repository,omitempty"`
	Path             string                   `json:"path,omitempty"`
	Version          string                   `json:"version,omitempty"`
	Username         string                   `json:"username,omitempty"`
	CACertificate    string                   `json:"caCertificate,omitempty"`
	Insecure         bool                     `json:"insecure,omitempty"`
	ChartsSet        bool                     `json:"chartsSet,omitempty"`
	OpenStackRelease string                   `json:"openstackRelease,omitempty"`
	BaseOS           string                   `json:"baseOS,omitempty"`
	Features         []string                 `json:"features,omitempty"`
	ValuesOverrides  string                   `json:"valuesOverrides,omitempty"`
	Region           string                   `json:"region,omitempty"`
	ClusterDomain    string                   `json:"clusterDomain,omitempty"`
	Public           *openstack.Public        `json:"public,omitempty"`
	Services         map[string]recordService `json:"services,omitempty"`
	Parallelism      int64                    `json:"parallelism,omitempty"`
}

type recordService struct {
	Enabled  *bool  `json:"enabled,omitempty"`
	Replicas *int64 `json:"replicas,omitempty"`
	Version  string `json:"version,omitempty"`
}

func (m *openstackModel) record(ctx context.Context, diags *diag.Diagnostics) string {
	r := openstackRecord{
		OpenStackRelease: m.OpenStackRelease.ValueString(), BaseOS: m.BaseOS.ValueString(),
		Features: listOf(ctx, m.Features, diags), ValuesOverrides: m.ValuesOverrides.ValueString(),
		Region: m.RegionName.ValueString(), ClusterDomain: m.ClusterDomain.ValueString(),
		Parallelism: m.Parallelism.ValueInt64(),
	}
	var c chartsModel
	if objectAs(ctx, m.Charts, &c, diags) {
		r.ChartsSet = true
		r.Repository, r.Path, r.Version = c.Repository.ValueString(), c.Path.ValueString(), c.Version.ValueString()
		r.Username, r.CACertificate, r.Insecure = c.Username.ValueString(), c.CACertificate.ValueString(), c.InsecureSkipTLSVerify.ValueBool()
	}
	if !m.PublicEndpoints.IsNull() {
		p := m.public(ctx, diags)
		r.Public = &p
	}
	if svcs := m.services(ctx, diags); len(svcs) > 0 {
		r.Services = map[string]recordService{}
		for name, s := range svcs {
			r.Services[name] = recordService{Enabled: s.Enabled.ValueBoolPointer(), Replicas: s.Replicas.ValueInt64Pointer(), Version: s.Version.ValueString()}
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		diags.AddError("Encoding The Record", err.Error())
	}
	return string(b)
}

// restore fills the configuration of an imported resource from its namespace's record.
func (m *openstackModel) restore(ctx context.Context, record string, diags *diag.Diagnostics) {
	var r openstackRecord
	if record == "" || json.Unmarshal([]byte(record), &r) != nil {
		r = openstackRecord{}
	}
	str := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m.Charts = types.ObjectNull(chartsAttrTypes)
	if r.ChartsSet {
		v, d := types.ObjectValueFrom(ctx, chartsAttrTypes, chartsModel{
			Repository: str(r.Repository), Path: str(r.Path), Version: str(r.Version), Username: str(r.Username),
			Password: types.StringNull(), CACertificate: str(r.CACertificate), InsecureSkipTLSVerify: boolOrNull(r.Insecure),
		})
		diags.Append(d...)
		m.Charts = v
	}
	m.OpenStackRelease, m.ValuesOverrides = str(r.OpenStackRelease), str(r.ValuesOverrides)
	m.BaseOS, m.RegionName = types.StringValue(orDefault(r.BaseOS, defaultBaseOS)), types.StringValue(orDefault(r.Region, defaultRegion))
	if r.ClusterDomain != "" {
		m.ClusterDomain = types.StringValue(r.ClusterDomain)
	}
	m.Features = types.ListNull(types.StringType)
	if len(r.Features) > 0 {
		m.Features = stringList(r.Features)
	}
	m.Parallelism = types.Int64Null()
	if r.Parallelism != 0 {
		m.Parallelism = types.Int64Value(r.Parallelism)
	}
	m.PublicEndpoints = types.ObjectNull(publicAttrTypes)
	if p := r.Public; p != nil {
		v, d := types.ObjectValueFrom(ctx, publicAttrTypes, publicEndpointsModel{
			Domain: str(p.Domain), Scheme: str(p.Scheme), Port: int64OrNull(p.Port),
		})
		diags.Append(d...)
		m.PublicEndpoints = v
	}
	m.Services = types.MapNull(types.ObjectType{AttrTypes: serviceAttrTypes})
	if len(r.Services) > 0 {
		svcs := map[string]serviceModel{}
		for name, s := range r.Services {
			svcs[name] = serviceModel{Enabled: types.BoolPointerValue(s.Enabled), Replicas: types.Int64PointerValue(s.Replicas),
				Version: str(s.Version), Values: types.ListNull(types.StringType)}
		}
		v, d := types.MapValueFrom(ctx, types.ObjectType{AttrTypes: serviceAttrTypes}, svcs)
		diags.Append(d...)
		m.Services = v
	}
	m.Credentials = types.MapNull(types.StringType)
}

var (
	chartsAttrTypes = map[string]attr.Type{
		"repository": types.StringType, "path": types.StringType, "version": types.StringType, "username": types.StringType,
		"password": types.StringType, "ca_certificate": types.StringType, "insecure_skip_tls_verify": types.BoolType,
	}
	publicAttrTypes = map[string]attr.Type{
		"domain": types.StringType, "scheme": types.StringType, "port": types.Int64Type,
	}
	serviceAttrTypes = map[string]attr.Type{
		"enabled": types.BoolType, "replicas": types.Int64Type, "version": types.StringType, "values": types.ListType{ElemType: types.StringType},
	}
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func boolOrNull(b bool) types.Bool {
	if !b {
		return types.BoolNull()
	}
	return types.BoolValue(true)
}

func int64OrNull(i int64) types.Int64 {
	if i == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(i)
}

// outputs sets keystone_url, admin_username, admin_password and clouds_yaml from the
// model's settings and credentials; unknown while the cluster domain is.
func (m *openstackModel) outputs(ctx context.Context, diags *diag.Diagnostics) {
	creds := effectiveCredentials(mapOf(ctx, m.GeneratedCredentials, diags), mapOf(ctx, m.Credentials, diags))
	m.AdminUsername = types.StringValue(openstack.AdminUsername)
	if m.GeneratedCredentials.IsUnknown() || m.Credentials.IsUnknown() {
		m.AdminPassword, m.CloudsYAML = types.StringUnknown(), types.StringUnknown()
	} else {
		m.AdminPassword = types.StringValue(creds[openstack.AdminCredentialKey])
	}
	if m.ClusterDomain.IsUnknown() || m.PublicEndpoints.IsUnknown() || m.RegionName.IsUnknown() || m.ReleaseNamespace.IsUnknown() {
		m.KeystoneURL, m.CloudsYAML = types.StringUnknown(), types.StringUnknown()
		return
	}
	set := m.settings(ctx, diags)
	// Without a public domain the public names resolve nowhere: give the in-cluster URL.
	url, iface := openstack.KeystoneURL(set, m.ReleaseNamespace.ValueString()), "public"
	if set.Public.Domain == "" {
		url, iface = openstack.KeystoneInternalURL(set, m.ReleaseNamespace.ValueString()), "internal"
	}
	m.KeystoneURL = types.StringValue(url)
	if m.AdminPassword.IsUnknown() || m.ClusterName.IsUnknown() {
		m.CloudsYAML = types.StringUnknown()
		return
	}
	y, err := openstack.CloudsYAML(m.ClusterName.ValueString(), openstack.CloudAuth{
		AuthURL: url, Region: set.Region, Username: openstack.AdminUsername, Password: m.AdminPassword.ValueString(),
		ProjectName: "admin", UserDomain: "default", ProjectDomain: "default", Interface: iface,
	})
	if err != nil {
		diags.AddError("Rendering clouds.yaml", err.Error())
		return
	}
	m.CloudsYAML = types.StringValue(string(y))
}

// expected is what the state recorded of each release, to tell drift.
func expected(rels map[string]releaseModel) map[string]cloud.Expected {
	out := map[string]cloud.Expected{}
	for name, r := range rels {
		if r.Revision.IsUnknown() || r.Revision.IsNull() || r.ValuesChecksum.IsUnknown() {
			continue
		}
		out[name] = cloud.Expected{Revision: int(r.Revision.ValueInt64()), ValuesChecksum: r.ValuesChecksum.ValueString()}
	}
	return out
}

// observedReleases turns what Observe saw of the enabled services into the releases map;
// an enabled service without a release is statusMissing.
func observedReleases(enabled []string, obs map[string]*cloud.Release) map[string]releaseModel {
	out := map[string]releaseModel{}
	for _, name := range enabled {
		r, ok := obs[name]
		if !ok {
			out[name] = releaseModel{ReleaseName: types.StringValue(name), ChartVersion: types.StringValue(""), AppVersion: types.StringValue(""),
				Revision: types.Int64Value(0), Status: types.StringValue(statusMissing), ValuesChecksum: types.StringValue("")}
			continue
		}
		out[name] = releaseModel{
			ReleaseName: types.StringValue(r.Name), ChartVersion: types.StringValue(r.ChartVersion), AppVersion: types.StringValue(r.AppVersion),
			Revision: types.Int64Value(int64(r.Revision)), Status: types.StringValue(r.Status), ValuesChecksum: types.StringValue(r.ValuesChecksum),
		}
	}
	return out
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}
