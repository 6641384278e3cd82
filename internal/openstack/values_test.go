package openstack

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func credentials(t *testing.T, enabled []string) Credentials {
	t.Helper()
	c, err := Credentials{}.Complete(enabled, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(v map[string]any, path string) any {
	var cur any = v
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[key]
	}
	return cur
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	enabled := DefaultServices()
	c := credentials(t, enabled)
	if len(c) != len(CredentialKeys(enabled)) {
		t.Fatalf("%d credentials for %d keys", len(c), len(CredentialKeys(enabled)))
	}
	seen := map[string]string{}
	for k, v := range c {
		if len(v) != 43 || strings.ContainsAny(v, "+/=:@%") {
			t.Errorf("%s = %q: want 43 URL-safe characters", k, v)
		}
		if other, dup := seen[v]; dup {
			t.Errorf("%s and %s got the same secret", k, other)
		}
		seen[v] = k
	}
	// Kept when still needed, generated when new, dropped when no longer needed.
	more, err := c.Complete(append(enabled, "cinder", "heat"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c {
		if more[k] != v {
			t.Errorf("%s changed from %q to %q", k, v, more[k])
		}
	}
	if more["identity/cinder_nova"] == "" || more["identity/heat-trust"] == "" {
		t.Error("cinder's and heat's users got no passwords")
	}
	fewer, _ := more.Complete([]string{"mariadb", "rabbitmq", "memcached", "keystone"}, rand.Reader)
	if _, ok := fewer["identity/nova"]; ok {
		t.Error("nova's password kept without nova")
	}
	if _, err := (Credentials{}).Complete(enabled, bytes.NewReader(nil)); err == nil {
		t.Error("no error when the random source fails")
	}
}

// TestValuesAgree checks that what must agree between releases does: the identity admin,
// the database and messaging admins and their servers, users two charts name, and the
// metadata proxy secret.
func TestValuesAgree(t *testing.T) {
	t.Parallel()
	enabled := Names()
	c := credentials(t, enabled)
	set := Settings{Region: "RegionTwo", ClusterDomain: "tenant.example"}
	values := map[string]map[string]any{}
	for _, name := range enabled {
		s, _ := Lookup(name)
		values[name] = s.Values(set, c, nil)
	}
	same := func(what string, paths ...string) {
		t.Helper()
		first := at(values[strings.SplitN(paths[0], ":", 2)[0]], strings.SplitN(paths[0], ":", 2)[1])
		if first == nil || first == "" {
			t.Fatalf("%s: %s is not set", what, paths[0])
		}
		for _, p := range paths[1:] {
			service, path, _ := strings.Cut(p, ":")
			if got := at(values[service], path); got != first {
				t.Errorf("%s: %s = %v, %s = %v", what, paths[0], first, p, got)
			}
		}
	}
	same("identity admin", "keystone:endpoints.identity.auth.admin.password", "glance:endpoints.identity.auth.admin.password",
		"nova:endpoints.identity.auth.admin.password", "horizon:endpoints.identity.auth.admin.password")
	same("database root", "mariadb:endpoints.oslo_db.auth.admin.password", "keystone:endpoints.oslo_db.auth.admin.password",
		"nova:endpoints.oslo_db_cell0.auth.admin.password", "horizon:endpoints.oslo_db.auth.admin.password")
	same("messaging admin", "rabbitmq:endpoints.oslo_messaging.auth.user.password", "keystone:endpoints.oslo_messaging.auth.admin.password",
		"neutron:endpoints.oslo_messaging.auth.admin.password", "heat:endpoints.oslo_messaging.auth.admin.password")
	same("glance's service user", "glance:endpoints.identity.auth.glance.password", "cinder:endpoints.identity.auth.glance.password")
	same("nova's database user", "nova:endpoints.oslo_db.auth.nova.password", "nova:endpoints.oslo_db_cell1.auth.nova.password",
		"placement:endpoints.oslo_db.auth.nova_api.password")
	same("metadata proxy secret", "nova:conf.nova.neutron.metadata_proxy_shared_secret",
		"neutron:conf.metadata_agent.DEFAULT.metadata_proxy_shared_secret", "neutron:conf.ovn_metadata_agent.DEFAULT.metadata_proxy_shared_secret")
	same("region", "keystone:endpoints.identity.auth.admin.region_name", "nova:endpoints.identity.auth.neutron.region_name")
	same("cluster domain", "keystone:endpoints.cluster_domain_suffix", "libvirt:endpoints.cluster_domain_suffix")
	if got := at(values["keystone"], "endpoints.identity.auth.admin.region_name"); got != "RegionTwo" {
		t.Errorf("region = %v", got)
	}
	if at(values["keystone"], "endpoints.oslo_db.auth.keystone.password") == at(values["glance"], "endpoints.oslo_db.auth.glance.password") {
		t.Error("two services' database users share a password")
	}
}

func TestValuesReplicas(t *testing.T) {
	t.Parallel()
	c := credentials(t, Names())
	three := int64(3)
	nova, _ := Lookup("nova")
	v := nova.Values(Settings{}, c, &three)
	for _, key := range []string{"osapi", "api_metadata", "conductor", "scheduler", "novncproxy"} {
		if got := at(v, "pod.replicas."+key); got != three {
			t.Errorf("pod.replicas.%s = %v", key, got)
		}
	}
	if at(v, "pod.replicas.compute_ironic") != nil {
		t.Error("replicas set a disabled component")
	}
	if at(nova.Values(Settings{}, c, nil), "pod") != nil {
		t.Error("pod.replicas written without replicas")
	}
	if at(v, "endpoints.cluster_domain_suffix") != nil {
		t.Error("an empty cluster domain was written")
	}
}

// TestValuesMatchTheCharts checks every value the provider writes against the real
// charts' values.yaml: the key exists (no typo makes a value go nowhere) and the user
// names the catalogue keeps are the charts' defaults.
func TestValuesMatchTheCharts(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..", "shared", "openstack-helm")
	if _, err := os.Stat(root); err != nil {
		t.Skip("SKIP: ../shared/openstack-helm is absent; the catalogue is checked against the real charts only where they are")
	}
	checkValuesAgainst(t, root, "chart")
}

// checkValuesAgainst checks the values the provider writes for every service against the
// values.yaml of the charts in root (what names them, e.g. "test chart").
func checkValuesAgainst(t *testing.T, root, what string) {
	t.Helper()
	c := credentials(t, Names())
	one := int64(1)
	for _, s := range Services() {
		raw, err := os.ReadFile(filepath.Join(root, s.Name, "values.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var chart map[string]any
		if err := yaml.Unmarshal(raw, &chart); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		var missing []string
		walk(s.Values(Settings{Region: "RegionOne", ClusterDomain: "cluster.local"}, c, &one), "", func(path string) {
			if _, found := lookup(chart, path); !found {
				missing = append(missing, path)
			}
		})
		if len(missing) > 0 {
			t.Errorf("%s: the %s has no %s", s.Name, what, strings.Join(missing, ", "))
		}
		for _, u := range s.Users {
			got, _ := lookup(chart, fmt.Sprintf("endpoints.%s.auth.%s.username", u.Endpoint, u.Key))
			if got != u.Username {
				t.Errorf("%s: endpoints.%s.auth.%s.username is %v in the %s, %q in the catalogue", s.Name, u.Endpoint, u.Key, got, what, u.Username)
			}
		}
	}
}

func walk(v map[string]any, prefix string, leaf func(string)) {
	for k, e := range v {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if m, ok := e.(map[string]any); ok {
			walk(m, path, leaf)
			continue
		}
		leaf(path)
	}
}

func lookup(v map[string]any, path string) (any, bool) {
	var cur any = v
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}
