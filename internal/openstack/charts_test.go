package openstack

import (
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
)

// testCharts are small charts named like the services that follow OpenStack-Helm's
// conventions, for the tests of a clone without ../shared/openstack-helm.
const testCharts = "testdata/charts"

// TestValuesMatchTheTestCharts is TestValuesMatchTheCharts against the test charts, which
// must take the same keys as the real ones: it is what checks the catalogue where the real
// charts are absent, and keeps the test charts honest where they are present.
func TestValuesMatchTheTestCharts(t *testing.T) {
	t.Parallel()
	checkValuesAgainst(t, testCharts, "test chart")
}

// object is one rendered manifest, decoded.
type object struct {
	file string
	m    map[string]any
}

func (o object) annotation(key string) string {
	v, _ := lookup(o.m, "metadata.annotations")
	m, _ := v.(map[string]any)
	s, _ := m[key].(string)
	return s
}

func (o object) str(path string) string {
	v, _ := lookup(o.m, path)
	s, _ := v.(string)
	return s
}

// renderTestChart loads a test chart the way the provider loads a chart folder (with
// helm-toolkit added from file://../helm-toolkit) and renders it as release name in
// namespace openstack with vals over the chart's values, as an install would.
func renderTestChart(t *testing.T, name string, vals map[string]any) []object {
	t.Helper()
	res, err := chartsource.NewCache(nil).Load(t.Context(), chartsource.Source{Path: testCharts}, name, "0.1.0")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ch := res.Chart
	if got := ch.Dependencies(); len(got) != 1 || got[0].Name() != "helm-toolkit" {
		t.Fatalf("%s: dependencies %v, want helm-toolkit from file://../helm-toolkit", name, got)
	}
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
				t.Fatalf("%s: %s does not parse: %v\n%s", name, file, err, doc)
			}
			if len(m) > 0 {
				out = append(out, object{file, m})
			}
		}
	}
	return out
}

// TestTestChartsRender renders every test chart with the values the provider gives its
// release: the conventions the provider relies on hold (release_group labels, replicas,
// post-install hook Jobs a workload waits for), and the releases agree on where keystone
// is and on its admin's password.
func TestTestChartsRender(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(testCharts)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	if want := append(Names(), "helm-toolkit"); !sameSet(dirs, want) {
		t.Fatalf("test charts %v, want one per service and helm-toolkit: %v", dirs, want)
	}

	c := credentials(t, Names())
	set := Settings{Region: "RegionTwo", ClusterDomain: "tenant.example"}
	two := int64(2)
	openrc, conf := map[string]string{}, map[string]string{}
	for _, s := range Services() {
		objects := renderTestChart(t, s.Name, s.Values(set, c, &two))
		var workloads, dbSync int
		for _, o := range objects {
			kind, name := o.str("kind"), o.str("metadata.name")
			switch kind {
			case "Deployment", "StatefulSet", "DaemonSet", "Job":
				workloads++
				for _, labels := range []string{"metadata.labels", "spec.template.metadata.labels"} {
					if got := o.str(labels + ".release_group"); got != s.Name {
						t.Errorf("%s: %s %s: %s.release_group = %q, want the release name", s.Name, kind, name, labels, got)
					}
					if got := o.str(labels + ".application"); got != s.Name {
						t.Errorf("%s: %s %s: %s.application = %q", s.Name, kind, name, labels, got)
					}
				}
			}
			if (kind == "Deployment" || kind == "StatefulSet") && len(s.ReplicaKeys) > 0 {
				if got, _ := lookup(o.m, "spec.replicas"); got != float64(2) {
					t.Errorf("%s: %s %s has %v replicas, want the 2 the values set", s.Name, kind, name, got)
				}
			}
			if kind == "Job" && name == s.Name+"-db-sync" {
				dbSync++
				if got := o.annotation("helm.sh/hook"); got == "" {
					t.Errorf("%s: %s is no hook", s.Name, name)
				}
				checkHook(t, o, "post-install,post-upgrade")
			}
			if kind == "Deployment" && s.Name != "nova" || name == "nova-api-osapi" {
				if jobs := initJobs(o); !slices.Contains(jobs, s.Name+"-db-sync") {
					t.Errorf("%s: %s waits for jobs %v, not %s-db-sync", s.Name, name, jobs, s.Name)
				}
			}
			if kind == "Secret" && name == s.Name+"-etc" {
				openrc[s.Name] = decoded(t, o, "admin-openrc")
				conf[s.Name] = decoded(t, o, s.Name+".conf")
			}
		}
		if workloads == 0 {
			t.Errorf("%s renders no workload", s.Name)
		}
		if !s.Infrastructure && dbSync != 1 {
			t.Errorf("%s renders %d %s-db-sync hook Jobs, want 1", s.Name, dbSync, s.Name)
		}
	}

	// Every OpenStack chart points its clients at the same keystone as the same admin.
	want := "export OS_AUTH_URL=http://keystone-api.openstack.svc.tenant.example:5000/v3\n" +
		"export OS_REGION_NAME=RegionTwo\nexport OS_USERNAME=admin\nexport OS_PASSWORD=" + c[identityAdmin.CredentialKey()] + "\n"
	for _, name := range []string{"keystone", "glance"} {
		if !strings.Contains(openrc[name], want) {
			t.Errorf("%s's admin-openrc:\n%s\nwant it to hold\n%s", name, openrc[name], want)
		}
	}
	// Each service reaches mariadb, rabbitmq and memcached with its own users, and nova's
	// metadata API and neutron's metadata agent share their secret.
	for _, want := range []string{
		"connection = mysql+pymysql://glance:" + c["oslo_db/glance"] + "@mariadb.openstack.svc.tenant.example:3306/glance\n",
		"transport_url = rabbit://glance:" + c["oslo_messaging/glance"] + "@rabbitmq.openstack.svc.tenant.example:5672/glance\n",
		"memcached_servers = memcached.openstack.svc.tenant.example:11211\nmemcache_secret_key = " + c[SecretMemcache] + "\n",
		"region_name = RegionTwo\nusername = glance\npassword = " + c["identity/glance"] + "\n",
	} {
		if !strings.Contains(conf["glance"], want) {
			t.Errorf("glance.conf:\n%s\nwant it to hold %q", conf["glance"], want)
		}
	}
	secret := "metadata_proxy_shared_secret = " + c[SecretMetadataProxy] + "\n"
	if !strings.Contains(conf["nova"], secret) || !strings.Contains(conf["neutron"], secret) {
		t.Errorf("nova.conf and neutron.conf do not both hold %q:\n%s\n%s", secret, conf["nova"], conf["neutron"])
	}
	for name, got := range openrc {
		if got != openrc["keystone"] {
			t.Errorf("%s's admin-openrc differs from keystone's:\n%s", name, got)
		}
	}
	if len(openrc) != len(Names())-5 {
		t.Errorf("admin-openrc rendered by %d charts, want every OpenStack chart", len(openrc))
	}
}

// The test charts carry the real charts' other conventions the provider meets: keystone's
// pre-install Secret, nova's plain Job, and job annotations from annotations.job.<job>
// (which is how tests make the simulator fail a hook).
func TestTestChartsConventions(t *testing.T) {
	t.Parallel()
	c := credentials(t, Names())
	keystone, _ := Lookup("keystone")
	vals := keystone.Values(Settings{Region: "RegionOne", ClusterDomain: "cluster.local"}, c, nil)
	put(vals, "true", "annotations", "job", "keystone_db_sync", "example.com/marker")
	var fernet, marked bool
	for _, o := range renderTestChart(t, "keystone", vals) {
		switch o.str("kind") + "/" + o.str("metadata.name") {
		case "Secret/keystone-fernet-keys":
			fernet = true
			checkHook(t, o, "pre-install")
		case "Job/keystone-db-sync":
			marked = o.annotation("example.com/marker") == "true"
		}
	}
	if !fernet {
		t.Error("keystone renders no keystone-fernet-keys hook Secret")
	}
	if !marked {
		t.Error("annotations.job.keystone_db_sync did not reach the keystone-db-sync Job")
	}

	nova, _ := Lookup("nova")
	var cellSetup bool
	for _, o := range renderTestChart(t, "nova", nova.Values(Settings{}, c, nil)) {
		if o.str("kind") == "Job" && o.str("metadata.name") == "nova-cell-setup" {
			cellSetup = o.annotation("helm.sh/hook") == ""
		}
	}
	if !cellSetup {
		t.Error("nova renders no nova-cell-setup Job outside the hooks")
	}
}

// checkHook fails unless o is a Helm hook of events with no delete policy but a failed
// hook's, like the real charts' hooks (which Helm then re-creates and uninstall leaves).
func checkHook(t *testing.T, o object, events string) {
	t.Helper()
	ann, _ := lookup(o.m, "metadata.annotations")
	m, _ := ann.(map[string]any)
	name := o.str("metadata.name")
	if m["helm.sh/hook"] != events {
		t.Errorf("%s: helm.sh/hook = %v, want %s", name, m["helm.sh/hook"], events)
	}
	if p, ok := m["helm.sh/hook-delete-policy"]; ok && p != "hook-failed" {
		t.Errorf("%s: helm.sh/hook-delete-policy = %v", name, p)
	}
}

// initJobs is the DEPENDENCY_JOBS of a workload's init containers.
func initJobs(o object) []string {
	v, _ := lookup(o.m, "spec.template.spec.initContainers")
	containers, _ := v.([]any)
	var jobs []string
	for _, c := range containers {
		env, _ := c.(map[string]any)["env"].([]any)
		for _, e := range env {
			if e, _ := e.(map[string]any); e["name"] == "DEPENDENCY_JOBS" {
				s, _ := e["value"].(string)
				jobs = append(jobs, strings.Split(s, ",")...)
			}
		}
	}
	return jobs
}

func decoded(t *testing.T, o object, key string) string {
	t.Helper()
	data, _ := o.m["data"].(map[string]any)
	s, _ := data[key].(string)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: data.%s: %v", o.str("metadata.name"), key, err)
	}
	return string(raw)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
