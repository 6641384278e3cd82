package openstack

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
)

// sharedCharts are the real charts in the shared checkout next to the repository.
var sharedCharts = filepath.Join("..", "..", "..", "shared", "openstack-helm")

// publicPaths are the paths under endpoints that s's values carry with p, sorted.
func publicPaths(t *testing.T, s Service, p Public) map[string]any {
	t.Helper()
	v := s.Values(Settings{Region: "RegionOne", ClusterDomain: "cluster.local", Public: p}, credentials(t, Names()), nil)
	out := map[string]any{}
	walk(v, "", func(path string) {
		if strings.Contains(path, ".host_fqdn_override.") || strings.Contains(path, ".scheme.") || strings.Contains(path, ".port.") {
			got, _ := lookup(v, path)
			out[path] = got
		}
	})
	return out
}

func TestPublicValues(t *testing.T) {
	t.Parallel()
	const d = "cloud.example.com"
	tests := []struct {
		name    string
		service string
		public  Public
		want    map[string]any
	}{
		{name: "no domain writes nothing", service: "keystone", public: Public{}, want: map[string]any{}},
		{name: "no domain, nova", service: "nova", want: map[string]any{}},
		{name: "infrastructure publishes nothing", service: "mariadb", public: Public{Domain: d}, want: map[string]any{}},
		{name: "keystone https by default", service: "keystone", public: Public{Domain: d}, want: map[string]any{
			"endpoints.identity.host_fqdn_override.public.host": "keystone." + d,
			"endpoints.identity.scheme.public":                  "https",
			"endpoints.identity.port.api.public":                float64(443),
		}},
		{name: "keystone http defaults to 80", service: "keystone", public: Public{Domain: d, Scheme: "http"}, want: map[string]any{
			"endpoints.identity.host_fqdn_override.public.host": "keystone." + d,
			"endpoints.identity.scheme.public":                  "http",
			"endpoints.identity.port.api.public":                float64(80),
		}},
		{name: "nova with its own port key for noVNC", service: "nova", public: Public{Domain: d, Port: 8443}, want: map[string]any{
			"endpoints.identity.host_fqdn_override.public.host":            "keystone." + d,
			"endpoints.identity.scheme.public":                             "https",
			"endpoints.identity.port.api.public":                           float64(8443),
			"endpoints.compute.host_fqdn_override.public.host":             "nova." + d,
			"endpoints.compute.scheme.public":                              "https",
			"endpoints.compute.port.api.public":                            float64(8443),
			"endpoints.compute_novnc_proxy.host_fqdn_override.public.host": "novncproxy." + d,
			"endpoints.compute_novnc_proxy.scheme.public":                  "https",
			"endpoints.compute_novnc_proxy.port.novnc_proxy.public":        float64(8443),
		}},
		{name: "glance and the dashboard it allows", service: "glance", public: Public{Domain: d}, want: map[string]any{
			"endpoints.identity.host_fqdn_override.public.host":  "keystone." + d,
			"endpoints.identity.scheme.public":                   "https",
			"endpoints.identity.port.api.public":                 float64(443),
			"endpoints.image.host_fqdn_override.public.host":     "glance." + d,
			"endpoints.image.scheme.public":                      "https",
			"endpoints.image.port.api.public":                    float64(443),
			"endpoints.dashboard.host_fqdn_override.public.host": "horizon." + d,
			"endpoints.dashboard.scheme.public":                  "https",
			"endpoints.dashboard.port.web.public":                float64(443),
		}},
		{name: "heat's two APIs", service: "heat", public: Public{Domain: d, Scheme: "http", Port: 8080}, want: map[string]any{
			"endpoints.identity.host_fqdn_override.public.host":       "keystone." + d,
			"endpoints.identity.scheme.public":                        "http",
			"endpoints.identity.port.api.public":                      float64(8080),
			"endpoints.orchestration.host_fqdn_override.public.host":  "heat." + d,
			"endpoints.orchestration.scheme.public":                   "http",
			"endpoints.orchestration.port.api.public":                 float64(8080),
			"endpoints.cloudformation.host_fqdn_override.public.host": "cloudformation." + d,
			"endpoints.cloudformation.scheme.public":                  "http",
			"endpoints.cloudformation.port.api.public":                float64(8080),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := Lookup(tt.service)
			got := publicPaths(t, s, tt.public)
			for path, want := range tt.want {
				if got[path] != want {
					t.Errorf("%s = %#v, want %#v", path, got[path], want)
				}
			}
			for path, v := range got {
				if _, ok := tt.want[path]; !ok {
					t.Errorf("unexpected %s = %#v", path, v)
				}
			}
		})
	}
}

// TestPublicValuesEveryService checks that every OpenStack chart gets keystone's public
// host and that every chart agrees on it, and that each publishes a host of its own.
func TestPublicValuesEveryService(t *testing.T) {
	t.Parallel()
	p := Public{Domain: "cloud.example.com", Scheme: "http", Port: 8000}
	for _, s := range Services() {
		got := publicPaths(t, s, p)
		hosts := s.PublicHosts(p)
		if s.Infrastructure {
			if len(got) > 0 || len(hosts) > 0 {
				t.Errorf("%s publishes %v, %v", s.Name, got, hosts)
			}
			continue
		}
		for path, want := range map[string]any{
			"endpoints.identity.host_fqdn_override.public.host": "keystone.cloud.example.com",
			"endpoints.identity.scheme.public":                  "http",
			"endpoints.identity.port.api.public":                float64(8000),
		} {
			if got[path] != want {
				t.Errorf("%s: %s = %#v, want %#v", s.Name, path, got[path], want)
			}
		}
		if len(hosts) == 0 {
			t.Errorf("%s publishes no host", s.Name)
		}
		for _, h := range hosts {
			if !strings.HasSuffix(h, ".cloud.example.com") || strings.Count(h, ".") != 3 {
				t.Errorf("%s: public host %q", s.Name, h)
			}
		}
	}
	keystone, _ := Lookup("keystone")
	if got := keystone.PublicHosts(p); !slices.Equal(got, []string{"keystone.cloud.example.com"}) {
		t.Errorf("keystone's public hosts %v", got)
	}
	nova, _ := Lookup("nova")
	if got := nova.PublicHosts(p); !slices.Equal(got, []string{"nova.cloud.example.com", "novncproxy.cloud.example.com"}) {
		t.Errorf("nova's public hosts %v", got)
	}
	if got := nova.PublicHosts(Public{}); got != nil {
		t.Errorf("public hosts without a domain: %v", got)
	}
}

func TestPublicCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		public Public
		errs   []string
	}{
		{name: "none", public: Public{}},
		{name: "domain", public: Public{Domain: "cloud.example.com"}},
		{name: "everything", public: Public{Domain: "os-1.example.com", Scheme: "http", Port: 8080}},
		{name: "scheme without domain", public: Public{Scheme: "https"}, errs: []string{"needs a public domain"}},
		{name: "port without domain", public: Public{Port: 443}, errs: []string{"needs a public domain"}},
		{name: "bad scheme", public: Public{Domain: "example.com", Scheme: "HTTPS"}, errs: []string{`scheme "HTTPS"`}},
		{name: "port too large", public: Public{Domain: "example.com", Port: 65536}, errs: []string{"port 65536"}},
		{name: "negative port", public: Public{Domain: "example.com", Port: -1}, errs: []string{"port -1"}},
		{name: "one label", public: Public{Domain: "localhost"}, errs: []string{"want a DNS domain"}},
		{name: "trailing dot", public: Public{Domain: "example.com."}, errs: []string{"label"}},
		{name: "upper case", public: Public{Domain: "Example.com"}, errs: []string{"lower-case"}},
		{name: "url", public: Public{Domain: "https://example.com"}, errs: []string{"lower-case"}},
		{name: "leading hyphen", public: Public{Domain: "-a.example.com"}, errs: []string{"inner hyphens"}},
		{name: "long label", public: Public{Domain: strings.Repeat("a", 64) + ".com"}, errs: []string{"1 to 63"}},
		{name: "two problems", public: Public{Domain: "x", Scheme: "ftp"}, errs: []string{"want a DNS domain", `scheme "ftp"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.public.Check()
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check() = nil, want errors %q", tt.errs)
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Check() = %q, want it to say %q", err, want)
				}
			}
		})
	}
}

func TestKeystoneURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		set       Settings
		namespace string
		want      string
	}{
		{name: "chart defaults", set: Settings{ClusterDomain: "tenant.example"}, namespace: "openstack",
			want: "http://keystone.openstack.svc.tenant.example/v3"},
		{name: "chart defaults, cluster.local", namespace: "os", want: "http://keystone.os.svc.cluster.local/v3"},
		{name: "https", set: Settings{Public: Public{Domain: "cloud.example.com"}}, want: "https://keystone.cloud.example.com/v3"},
		{name: "https 443", set: Settings{Public: Public{Domain: "cloud.example.com", Scheme: "https", Port: 443}},
			want: "https://keystone.cloud.example.com/v3"},
		{name: "https other port", set: Settings{Public: Public{Domain: "cloud.example.com", Port: 8443}},
			want: "https://keystone.cloud.example.com:8443/v3"},
		{name: "http", set: Settings{Public: Public{Domain: "cloud.example.com", Scheme: "http"}},
			want: "http://keystone.cloud.example.com/v3"},
		{name: "http on 443", set: Settings{Public: Public{Domain: "cloud.example.com", Scheme: "http", Port: 443}},
			want: "http://keystone.cloud.example.com:443/v3"},
		{name: "scheme without domain is ignored", set: Settings{Public: Public{Scheme: "https", Port: 8443}}, namespace: "openstack",
			want: "http://keystone.openstack.svc.cluster.local/v3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := KeystoneURL(tt.set, tt.namespace); got != tt.want {
				t.Errorf("KeystoneURL() = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := KeystoneInternalURL(Settings{ClusterDomain: "tenant.example", Public: Public{Domain: "x.example"}}, "openstack"),
		"http://keystone-api.openstack.svc.tenant.example:5000/v3"; got != want {
		t.Errorf("KeystoneInternalURL() = %q, want %q", got, want)
	}
}

// TestPublicValuesMatchTheCharts checks every public value against the real charts'
// values.yaml, and the test charts' for the endpoints they have.
func TestPublicValuesMatchTheCharts(t *testing.T) {
	t.Parallel()
	t.Run("test charts", func(t *testing.T) {
		t.Parallel()
		checkPublicAgainst(t, testCharts, false)
	})
	t.Run("real charts", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat(sharedCharts); err != nil {
			t.Skip("SKIP: ../shared/openstack-helm is absent")
		}
		checkPublicAgainst(t, sharedCharts, true)
	})
}

// checkPublicAgainst checks that every public path the provider writes goes where
// helm-toolkit looks: each key on the way exists in the chart's values.yaml up to the
// endpoint class "public", whose parent (host_fqdn_override, scheme, port.<port>) must be
// a map, as helm-toolkit reads <map>.public and falls back to <map>.default. And that the
// host the provider uses is the chart's hosts.public (hosts.default where it has none).
// all says every endpoint must be in the chart; else endpoints the chart lacks are
// skipped.
func checkPublicAgainst(t *testing.T, root string, all bool) {
	t.Helper()
	p := Public{Domain: "cloud.example.com"}
	for _, s := range Services() {
		raw, err := os.ReadFile(filepath.Join(root, s.Name, "values.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var chart map[string]any
		if err := yaml.Unmarshal(raw, &chart); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		var paths []string
		for path := range publicPaths(t, s, p) {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			keys := strings.Split(path, ".")
			if _, found := lookup(chart, strings.Join(keys[:2], ".")); !found {
				if all {
					t.Errorf("%s: the chart has no %s", s.Name, strings.Join(keys[:2], "."))
				}
				continue
			}
			var cur any = chart
			for i, key := range keys {
				m, ok := cur.(map[string]any)
				if !ok {
					t.Errorf("%s: %s: %s is a %T, not a map", s.Name, path, strings.Join(keys[:i], "."), cur)
					break
				}
				if key == "public" {
					break
				}
				if cur, ok = m[key]; !ok {
					t.Errorf("%s: %s: the chart has no %s", s.Name, path, strings.Join(keys[:i+1], "."))
					break
				}
			}
		}
		for _, name := range s.publicEndpointsOf() {
			hosts, found := lookup(chart, "endpoints."+name+".hosts")
			if !found {
				continue // reported above
			}
			m, _ := hosts.(map[string]any)
			host := m["public"]
			if host == nil {
				host = m["default"]
			}
			if host != publicEndpoints[name].Host {
				t.Errorf("%s: endpoints.%s.hosts gives public host %v, the provider %q", s.Name, name, host, publicEndpoints[name].Host)
			}
		}
	}
}

// renderChart renders the chart name of the charts in root as release name in namespace
// openstack with vals over its values.
func renderChart(t *testing.T, root, name string, vals map[string]any) []object {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, name, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Version string }
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	res, err := chartsource.NewCache(nil).Load(t.Context(), chartsource.Source{Path: root}, name, meta.Version)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ch := res.Chart
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	top, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: name, Namespace: "openstack", Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		t.Fatalf("%s: rendering: %v", name, err)
	}
	var out []object
	for file, text := range files {
		if !strings.HasSuffix(file, ".yaml") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(text) {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Fatalf("%s: %s does not parse: %v", name, file, err)
			}
			if len(m) > 0 {
				out = append(out, object{file, m})
			}
		}
	}
	return out
}

// containerEnv is the value of env var of the container named container of the Job job.
func containerEnv(objects []object, job, container, env string) (string, bool) {
	for _, o := range objects {
		if o.str("kind") != "Job" || o.str("metadata.name") != job {
			continue
		}
		cs, _ := lookup(o.m, "spec.template.spec.containers")
		list, _ := cs.([]any)
		for _, c := range list {
			cm, _ := c.(map[string]any)
			if cm["name"] != container {
				continue
			}
			vars, _ := cm["env"].([]any)
			for _, v := range vars {
				vm, _ := v.(map[string]any)
				if vm["name"] == env {
					s, _ := vm["value"].(string)
					return s, true
				}
			}
		}
	}
	return "", false
}

// secretFile is the decoded key of the Secret name.
func secretFile(t *testing.T, objects []object, name, key string) string {
	t.Helper()
	for _, o := range objects {
		if o.str("kind") == "Secret" && o.str("metadata.name") == name {
			data, _ := lookup(o.m, "data")
			m, _ := data.(map[string]any)
			encoded, ok := m[key].(string)
			if !ok {
				t.Fatalf("Secret %s has no %s", name, key)
			}
			b, err := base64.StdEncoding.DecodeString(encoded)
			if err != nil {
				t.Fatalf("%s %s: %v", name, key, err)
			}
			return string(b)
		}
	}
	t.Fatalf("no Secret %s", name)
	return ""
}

// TestPublicURLsRender renders the real charts with the public values: keystone
// bootstraps itself with KeystoneURL as its public endpoint, every API registers its
// public URL on the public host, nova's console, heat's metadata server and glance's CORS
// origin use the public names.
func TestPublicURLsRender(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(sharedCharts); err != nil {
		t.Skip("SKIP: ../shared/openstack-helm is absent")
	}
	c := credentials(t, Names())
	tests := []struct {
		name   string
		public Public
		// base is the start of the public URLs, with %s for the first label.
		base string
	}{
		{name: "chart defaults", public: Public{}},
		{name: "https", public: Public{Domain: "cloud.example.com"}, base: "https://%s.cloud.example.com"},
		{name: "http on 8080", public: Public{Domain: "os.example.net", Scheme: "http", Port: 8080}, base: "http://%s.os.example.net:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set := Settings{Region: "RegionOne", ClusterDomain: "tenant.example", Public: tt.public}
			render := func(name string) []object {
				s, _ := Lookup(name)
				return renderChart(t, sharedCharts, name, s.Values(set, c, nil))
			}
			keystone := render("keystone")
			if got, _ := containerEnv(keystone, "keystone-db-sync", "keystone-db-sync", "OS_BOOTSTRAP_PUBLIC_URL"); got != KeystoneURL(set, "openstack") {
				t.Errorf("keystone bootstraps with public URL %q, KeystoneURL is %q", got, KeystoneURL(set, "openstack"))
			}
			if tt.base == "" {
				return
			}
			base := func(host string) string { return strings.Replace(tt.base, "%s", host, 1) }
			for service, eps := range published {
				if service == "keystone" || service == "horizon" {
					continue // registered by keystone's bootstrap; no API
				}
				objects := render(service)
				for _, ep := range eps {
					if ep == "compute_novnc_proxy" {
						continue // no catalogue entry
					}
					got, found := containerEnv(objects, service+"-ks-endpoints", ep+"-ks-endpoints-public", "OS_SERVICE_ENDPOINT")
					want := base(publicEndpoints[ep].Host)
					if !found || got != want && !strings.HasPrefix(got, want+"/") {
						t.Errorf("%s registers %s's public endpoint as %q (found %v), want %s[/path]", service, ep, got, found, want)
					}
				}
				switch service {
				case "nova":
					want := "novncproxy_base_url = " + base("novncproxy") + "/vnc_auto.html\n"
					if conf := secretFile(t, objects, "nova-etc", "nova.conf"); !strings.Contains(conf, want) {
						t.Errorf("nova.conf does not hold %q", want)
					}
				case "heat":
					want := "heat_metadata_server_url = " + base("cloudformation") + "\n"
					if conf := secretFile(t, objects, "heat-etc", "heat.conf"); !strings.Contains(conf, want) {
						t.Errorf("heat.conf does not hold %q", want)
					}
				case "glance":
					want := "allowed_origin = " + base("horizon")
					if conf := secretFile(t, objects, "glance-etc", "glance-api.conf"); !strings.Contains(conf, want) {
						t.Errorf("glance-api.conf does not hold %q", want)
					}
				}
			}
		})
	}
}
