package openstack

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestCloudsYAML(t *testing.T) {
	t.Parallel()
	full := CloudAuth{
		AuthURL: "https://keystone.cloud.example.com/v3", Region: "RegionOne", Username: "admin", Password: "s3cret",
		ProjectName: "admin", UserDomain: "default", ProjectDomain: "Default",
	}
	tests := []struct {
		name  string
		cloud string
		auth  CloudAuth
		want  map[string]any // the cloud's entry, parsed back
		err   string
	}{
		{name: "full", cloud: "qumulus", auth: full, want: map[string]any{
			"auth": map[string]any{
				"auth_url": "https://keystone.cloud.example.com/v3", "username": "admin", "password": "s3cret",
				"project_name": "admin", "user_domain_name": "default", "project_domain_name": "Default",
			},
			"region_name": "RegionOne", "interface": "public", "identity_api_version": float64(3),
		}},
		{name: "defaults", cloud: "c", auth: CloudAuth{AuthURL: "http://k/v3", Username: "u", Password: "p", ProjectName: "p1"}, want: map[string]any{
			"auth": map[string]any{
				"auth_url": "http://k/v3", "username": "u", "password": "p",
				"project_name": "p1", "user_domain_name": "default", "project_domain_name": "default",
			},
			"interface": "public", "identity_api_version": float64(3),
		}},
		{name: "unscoped, internal, insecure", cloud: "c", auth: CloudAuth{AuthURL: "http://k/v3", Username: "u", Password: "p", Interface: "internal", Insecure: true},
			want: map[string]any{
				"auth":      map[string]any{"auth_url": "http://k/v3", "username": "u", "password": "p", "user_domain_name": "default"},
				"interface": "internal", "identity_api_version": float64(3), "verify": false,
			}},
		{name: "password needing quotes", cloud: "yes", auth: CloudAuth{AuthURL: "http://k/v3", Username: "no", Password: "null", ProjectName: "0x1F"},
			want: map[string]any{
				"auth": map[string]any{
					"auth_url": "http://k/v3", "username": "no", "password": "null",
					"project_name": "0x1F", "user_domain_name": "default", "project_domain_name": "default",
				},
				"interface": "public", "identity_api_version": float64(3),
			}},
		{name: "no cloud name", auth: full, err: "no name"},
		{name: "no auth URL", cloud: "c", auth: CloudAuth{Username: "u"}, err: "no auth URL"},
		{name: "no user", cloud: "c", auth: CloudAuth{AuthURL: "http://k/v3"}, err: "no user name"},
		{name: "bad interface", cloud: "c", auth: CloudAuth{AuthURL: "http://k/v3", Username: "u", Interface: "Public"}, err: `interface "Public"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := CloudsYAML(tt.cloud, tt.auth)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("CloudsYAML() error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatalf("does not parse: %v\n%s", err, out)
			}
			want := map[string]any{"clouds": map[string]any{tt.cloud: tt.want}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parsed back:\n%v\nwant\n%v\nYAML:\n%s", got, want, out)
			}
		})
	}
}

// TestCloudsYAMLPasswords round-trips passwords with what YAML gives a meaning to.
func TestCloudsYAMLPasswords(t *testing.T) {
	t.Parallel()
	for _, password := range []string{
		`a: b`, `#comment`, `- item`, `{x: 1}`, `[1, 2]`, `"quoted"`, `'single'`, `'`, `"`, `\n`, "line\nbreak",
		`&anchor`, `*alias`, `!tag`, `|`, `>`, `%`, `@`, "`", `yes`, `on`, `~`, `null`, `123`, `1e3`, `0o17`, `.inf`,
		` leading space`, `trailing space `, "\ttab", `---`, `...`, `?`, `a #b`, `ünï©ødé`, "",
	} {
		out, err := CloudsYAML("c", CloudAuth{AuthURL: "http://k/v3", Username: "u", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Clouds map[string]struct {
				Auth struct {
					Password *string `json:"password"`
				} `json:"auth"`
			} `json:"clouds"`
		}
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("password %q: %v\n%s", password, err, out)
		}
		if p := got.Clouds["c"].Auth.Password; p == nil || *p != password {
			t.Errorf("password %q came back as %v:\n%s", password, p, out)
		}
	}
}
