package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/helmrelease"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenant"
	"github.com/qumulus/terraform-provider-qumulus/internal/tenantcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

const osAddr = "qumulus_openstack.test"

// openstackConfig is a tenant, a cluster "prod" and a qumulus_openstack "test" of it, in one
// configuration, with the charts of repo and body.
func openstackConfig(t *testing.T, tenantName string, repo *chartrepo.Repo, releaseNS, body string) string {
	return clusterConfig(t, tenantName, `
  name    = "prod"
  version = "v1.35.0"
`) + fmt.Sprintf(`
resource "qumulus_openstack" "test" {
  namespace         = qumulus_cluster.test.namespace
  cluster_name      = qumulus_cluster.test.name
  release_namespace = %q
  charts = {
    repository = %q
  }
%s
}
`, releaseNS, repo.URL, body)
}

// tenantConn connects to the tenant cluster of cluster prod in namespace ns.
func tenantConn(t *testing.T, ns string) *kube.Clients {
	t.Helper()
	cs, dyn := kubeClients(t)
	c := tenantcluster.NewCache(tenantcluster.Reader{Kube: cs, Dynamic: dyn}, tenantcluster.ClientOptions{UserAgent: "openstack-test"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := c.Get(ctx, tenantcluster.Key{Namespace: ns, Name: "prod"}, kamaji.AdminKubeconfigKey)
	if err != nil {
		t.Fatal(err)
	}
	return conn.Clients
}

// releases reads the releases of namespace relNS of the tenant cluster, by name.
func releases(t *testing.T, ns, relNS string) map[string]*helmrelease.Release {
	t.Helper()
	d := &helmrelease.Driver{Clients: tenantConn(t, ns), Namespace: relNS}
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*helmrelease.Release{}
	for _, r := range list {
		out[r.Name] = r
	}
	return out
}

// at walks values along path.
func at(v map[string]any, path ...string) any {
	var cur any = v
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// checkAgreement checks the releases in the tenant cluster: exactly want, all deployed, and
// their stored values agree on the admin, database and messaging credentials, the region
// and the cluster domain, none of them a chart default.
func checkAgreement(t *testing.T, ns, relNS string, want []string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		rels := releases(t, ns, relNS)
		var errs []error
		names := sortedKeys(rels)
		if !slices.Equal(names, want) {
			errs = append(errs, fmt.Errorf("releases %v, want %v", names, want))
		}
		agree := map[string]map[string]string{}
		note := func(what, release string, v any) {
			str, _ := v.(string)
			if agree[what] == nil {
				agree[what] = map[string]string{}
			}
			agree[what][release] = str
		}
		for name, r := range rels {
			if r.Status != "deployed" {
				errs = append(errs, fmt.Errorf("release %s is %s", name, r.Status))
			}
			svc, _ := openstack.Lookup(name)
			note("cluster_domain_suffix", name, at(r.Values, "endpoints", "cluster_domain_suffix"))
			for _, u := range svc.Users {
				switch u.CredentialKey() {
				case openstack.AdminCredentialKey:
					note("identity admin", name, at(r.Values, "endpoints", "identity", "auth", "admin", "password"))
					note("region", name, at(r.Values, "endpoints", "identity", "auth", "admin", "region_name"))
				case "oslo_db/root":
					note("database root", name, at(r.Values, "endpoints", u.Endpoint, "auth", u.Key, "password"))
				case "oslo_messaging/rabbitmq":
					note("messaging admin", name, at(r.Values, "endpoints", u.Endpoint, "auth", u.Key, "password"))
				}
			}
		}
		for what, by := range agree {
			seen := map[string][]string{}
			for rel, v := range by {
				seen[v] = append(seen[v], rel)
			}
			if len(seen) != 1 {
				errs = append(errs, fmt.Errorf("the releases disagree on %s: %d different values", what, len(seen)))
			}
			for v := range seen {
				if v == "" || v == "password" {
					errs = append(errs, fmt.Errorf("%s is %q in %v: a chart default, not the provider's", what, v, seen[v]))
				}
			}
		}
		if agree["region"] != nil && agree["region"]["keystone"] != "RegionOne" {
			errs = append(errs, fmt.Errorf("region %q", agree["region"]["keystone"]))
		}
		return errors.Join(errs...)
	}
}

// revisions records the state's revision of every release into into.
func revisions(into map[string]int64) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs := s.RootModule().Resources[osAddr]
		if rs == nil {
			return errors.New("no " + osAddr)
		}
		clear(into)
		for k, v := range rs.Primary.Attributes {
			if name, ok := strings.CutSuffix(strings.TrimPrefix(k, "releases."), ".revision"); ok && strings.HasPrefix(k, "releases.") {
				n, _ := strconv.ParseInt(v, 10, 64)
				into[name] = n
			}
		}
		return nil
	}
}

// onlyChanged checks that exactly the services in changed have a new revision since before.
func onlyChanged(before map[string]int64, changed ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		after := map[string]int64{}
		if err := revisions(after)(s); err != nil {
			return err
		}
		var errs []error
		for name, rev := range after {
			old, had := before[name]
			moved := !had || rev != old
			if moved != slices.Contains(changed, name) {
				errs = append(errs, fmt.Errorf("release %s: revision %d -> %d", name, old, rev))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("want only %v changed: %w", changed, err)
		}
		clear(before)
		for k, v := range after {
			before[k] = v
		}
		return nil
	}
}

func checkOpenStackDestroyed(t *testing.T) func(*terraform.State) error {
	return checkClustersDestroyed(t)
}

// TestAccOpenStack_lifecycle installs OpenStack with the tenant and its cluster in one
// apply, then scales one service, disables one, repairs drift, imports and destroys.
func TestAccOpenStack_lifecycle(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.Serve(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	defaults := openstack.DefaultServices()
	sort.Strings(defaults)
	withoutHorizon := slices.DeleteFunc(slices.Clone(defaults), func(s string) bool { return s == "horizon" })
	revs := map[string]int64{}

	base := openstackConfig(t, tn, repo, relNS, "")
	scaled := openstackConfig(t, tn, repo, relNS, `
  services = {
    keystone = { replicas = 2 }
  }
`)
	noHorizon := openstackConfig(t, tn, repo, relNS, `
  services = {
    keystone = { replicas = 2 }
    horizon  = { enabled = false }
  }
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkOpenStackDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: base,
				Check: resource.ComposeTestCheckFunc(
					checkAgreement(t, ns, relNS, defaults),
					revisions(revs),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(osAddr, tfjsonpath.New("id"), knownvalue.StringExact(ns+"/prod/"+relNS)),
					statecheck.ExpectKnownValue(osAddr, tfjsonpath.New("releases").AtMapKey("keystone").AtMapKey("status"), knownvalue.StringExact("deployed")),
					statecheck.ExpectKnownValue(osAddr, tfjsonpath.New("releases").AtMapKey("nova").AtMapKey("chart_version"),
						knownvalue.StringExact(repo.Versions[len(repo.Versions)-1])),
					statecheck.ExpectKnownValue(osAddr, tfjsonpath.New("keystone_url"),
						knownvalue.StringExact("http://keystone-api."+relNS+".svc.cluster.local:5000/v3")),
					statecheck.ExpectKnownValue(osAddr, tfjsonpath.New("admin_username"), knownvalue.StringExact("admin")),
					statecheck.ExpectKnownValue(osAddr, tfjsonpath.New("cluster_domain"), knownvalue.StringExact("cluster.local")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Scaling one service upgrades only its release.
				Config: scaled,
				Check: resource.ComposeTestCheckFunc(
					onlyChanged(revs, "keystone"),
					func(*terraform.State) error {
						d, err := tenantConn(t, ns).Kubernetes.AppsV1().Deployments(relNS).Get(t.Context(), "keystone-api", metav1.GetOptions{})
						if err != nil {
							return err
						}
						if got := *d.Spec.Replicas; got != 2 {
							return fmt.Errorf("keystone-api has %d replicas, want 2", got)
						}
						return nil
					},
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Drift: a deleted Deployment and a scaled one show in the plan, and the
				// apply repairs them, upgrading only those releases.
				PreConfig: func() {
					apps := tenantConn(t, ns).Kubernetes.AppsV1()
					if err := apps.Deployments(relNS).Delete(t.Context(), "glance-api", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					scale, err := apps.Deployments(relNS).GetScale(t.Context(), "keystone-api", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					scale.Spec.Replicas = 5
					if _, err := apps.Deployments(relNS).UpdateScale(t.Context(), "keystone-api", scale, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: scaled,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(osAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(
					onlyChanged(revs, "keystone", "glance"),
					func(*terraform.State) error {
						apps := tenantConn(t, ns).Kubernetes.AppsV1()
						if _, err := apps.Deployments(relNS).Get(t.Context(), "glance-api", metav1.GetOptions{}); err != nil {
							return fmt.Errorf("glance-api not repaired: %w", err)
						}
						d, err := apps.Deployments(relNS).Get(t.Context(), "keystone-api", metav1.GetOptions{})
						if err != nil {
							return err
						}
						if *d.Spec.Replicas != 2 {
							return fmt.Errorf("keystone-api has %d replicas after the repair, want 2", *d.Spec.Replicas)
						}
						return nil
					},
				),
			},
			{
				// Disabling a service uninstalls its release; the others keep theirs.
				Config: noHorizon,
				Check: resource.ComposeTestCheckFunc(
					checkAgreement(t, ns, relNS, withoutHorizon),
					onlyChanged(revs),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:      osAddr,
				ImportState:       true,
				ImportStateId:     ns + "/prod/" + relNS,
				ImportStateVerify: true,
				// timeouts is configuration only. The passwords of services no longer
				// enabled are kept in state for when they come back, but no release has them.
				ImportStateVerifyIgnore: []string{"timeouts", "generated_credentials.%", "generated_credentials.oslo_db/horizon"},
			},
			{
				// Destroy: every release, what Helm leaves behind, and the namespace go.
				Config: clusterConfig(t, tn, `
  name    = "prod"
  version = "v1.35.0"
`),
				Check: func(*terraform.State) error {
					return openstackGone(t.Context(), tenantConn(t, ns).Kubernetes, relNS)
				},
			},
		},
	})
}

// TestAccOpenStack_failure makes a hook Job of one release fail: that release is
// uninstalled (its first install), the error names it and the Job, what does not need it
// stays, and the next apply without the failure converges.
func TestAccOpenStack_failure(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.Serve(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	failing := openstackConfig(t, tn, repo, relNS, fmt.Sprintf(`
  services = {
    glance = {
      values = [yamlencode({ annotations = { job = { glance_db_sync = { %q = "true" } } } })]
    }
  }
`, simulator.FailAnnotation))
	fixed := openstackConfig(t, tn, repo, relNS, "")
	defaults := openstack.DefaultServices()
	sort.Strings(defaults)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkOpenStackDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config:      failing,
				ExpectError: regexp.MustCompile(`(?s)OpenStack Release Failed.*release ` + relNS + `/glance.*glance-db-sync.*uninstalled`),
			},
			{
				PreConfig: func() {
					rels := releases(t, ns, relNS)
					if _, ok := rels["glance"]; ok {
						t.Errorf("glance is still installed after its failed first install")
					}
					if r := rels["keystone"]; r == nil || r.Status != "deployed" {
						t.Errorf("keystone should stay deployed: %v", r)
					}
				},
				Config: fixed,
				Check:  checkAgreement(t, ns, relNS, defaults),
			},
		},
	})
}

// TestAccOpenStack_planErrors are the mistakes refused at plan time, before anything is
// made.
func TestAccOpenStack_planErrors(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.Serve(t)
	tn := tenantName()
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		{"unknown service", `services = { swift = {} }`, `(?s)Invalid Attribute Value Match.*swift`},
		{"keystone disabled", `services = { keystone = { enabled = false } }`, `(?s)Services Do Not Fit Together.*keystone`},
		{"nova without placement", `services = { placement = { enabled = false } }`, `(?s)Services Do Not Fit Together.*nova needs placement`},
		{"replicas of a daemonset", `services = { libvirt = { replicas = 2 } }`, `(?s)Service Has No Replicas.*libvirt runs as DaemonSets`},
		{"unknown feature", fmt.Sprintf("values_overrides = %q\nfeatures = [\"nosuchfeature\"]", repo.Overrides), `(?s)No Override File For Feature.*nosuchfeature`},
		{"release without overrides", `openstack_release = "2026.1"`, `(?s)values_overrides`},
		{"bad version", `services = { nova = { version = "not a version" } }`, `(?s)Invalid Chart Version`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      openstackConfig(t, tn, repo, "openstack", tc.body),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// openstackGone checks that nothing of the releases is left in the tenant cluster.
func openstackGone(ctx context.Context, cs kubernetes.Interface, relNS string) error {
	_, err := cs.CoreV1().Namespaces().Get(ctx, relNS, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("namespace %s is still there", relNS)
}

// TestAccOpenStack_versionsAndSecrets runs the Terraform CLI with TF_LOG=trace: it
// installs the test charts at 0.1.0, looks for the generated passwords in everything
// Terraform prints and stores, upgrades every release to chart 0.2.0, repairs an
// out-of-band rollback, recovers a release left pending, and destroys.
func TestAccOpenStack_versionsAndSecrets(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.ServeTestCharts(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	config := func() string {
		return `
terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}
` + openstackConfig(t, tn, repo, relNS, "") + `
output "keystone_url" {
  value = qumulus_openstack.test.keystone_url
}
`
	}
	pinned := func(version string) string {
		return strings.Replace(config(), "repository = ", fmt.Sprintf("version = %q\n    repository = ", version), 1)
	}
	cli := acctest.NewCLI(t, false)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, _ = cli.Run("destroy", "-auto-approve")
		}
	})

	cli.Write(pinned("0.1.0"))
	apply := cli.MustRun("apply", "-auto-approve")
	secrets := generatedSecrets(t, cli.State())
	if len(secrets) < 20 {
		t.Fatalf("found %d generated credentials in the state, want the default set's (20 or more)", len(secrets))
	}
	plan, err := cli.Run("plan", "-detailed-exitcode")
	if err != nil {
		t.Errorf("the plan after apply is not empty: %v\n%s", err, plan)
	}
	show := cli.MustRun("show")
	for what, text := range map[string]string{"apply output": apply, "plan output": plan, "show output": show, "trace log": string(cli.Trace())} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s holds a generated password", what)
				break
			}
		}
	}
	checkSecretsOnlySensitive(t, cli.State(), secrets)
	for name, r := range releases(t, ns, relNS) {
		if r.ChartVersion != "0.1.0" {
			t.Errorf("release %s has chart %s, want 0.1.0", name, r.ChartVersion)
		}
	}

	// A new chart version upgrades every release.
	cli.Write(pinned("0.2.0"))
	cli.MustRun("apply", "-auto-approve")
	rels := releases(t, ns, relNS)
	for name, r := range rels {
		if r.ChartVersion != "0.2.0" || r.Revision != 2 || r.Status != "deployed" {
			t.Errorf("release %s: chart %s revision %d %s, want 0.2.0 at revision 2, deployed", name, r.ChartVersion, r.Revision, r.Status)
		}
	}

	// An out-of-band rollback shows in the plan and the apply repairs it.
	d := &helmrelease.Driver{Clients: tenantConn(t, ns), Namespace: relNS}
	if _, err := d.Revert(t.Context(), "keystone", time.Minute); err != nil {
		t.Fatal(err)
	}
	plan, err = cli.Run("plan", "-detailed-exitcode")
	if err == nil || !strings.Contains(plan, "drifted") || !strings.Contains(plan, "OpenStack Release Drifted") {
		t.Errorf("the plan after an out-of-band rollback shows no drift (%v):\n%s", err, plan)
	}
	cli.MustRun("apply", "-auto-approve")
	if k := releases(t, ns, relNS)["keystone"]; k.ChartVersion != "0.2.0" || k.Status != "deployed" {
		t.Errorf("keystone after the repair: chart %s, %s; want 0.2.0, deployed", k.ChartVersion, k.Status)
	}
	if plan, err := cli.Run("plan", "-detailed-exitcode"); err != nil {
		t.Errorf("the plan after the repair is not empty: %v\n%s", err, plan)
	}

	// An out-of-band upgrade with other values shows in the plan and is undone.
	horizon := releases(t, ns, relNS)["horizon"]
	loaded, err := chartsource.NewCache(nil).Load(t.Context(), chartsource.Source{Repository: repo.URL}, "horizon", "0.2.0")
	must(t, err)
	changed := maps.Clone(horizon.Values)
	changed["out_of_band"] = true
	_, err = d.Apply(t.Context(), "horizon", loaded.Chart, changed, time.Minute)
	must(t, err)
	plan, err = cli.Run("plan", "-detailed-exitcode")
	if err == nil || !strings.Contains(plan, "values changed out of band") {
		t.Errorf("the plan after an out-of-band upgrade with other values shows no drift (%v):\n%s", err, plan)
	}
	cli.MustRun("apply", "-auto-approve")
	if h := releases(t, ns, relNS)["horizon"]; h.ValuesChecksum != horizon.ValuesChecksum || h.Status != "deployed" {
		t.Errorf("horizon after the repair: %s with other values than before the out-of-band upgrade", h.Status)
	}

	// A release a crashed run left pending-upgrade shows in the plan, and the apply
	// recovers it instead of failing with "another operation is in progress".
	store := driver.NewSecrets(tenantConn(t, ns).Kubernetes.CoreV1().Secrets(relNS))
	last := releases(t, ns, relNS)["keystone"]
	key := fmt.Sprintf("sh.helm.release.v1.keystone.v%d", last.Revision)
	rel, err := store.Get(key)
	must(t, err)
	rel.Info.Status = release.StatusPendingUpgrade
	must(t, store.Update(key, rel))
	plan, err = cli.Run("plan", "-detailed-exitcode")
	if err == nil || !strings.Contains(plan, "pending-upgrade") {
		t.Errorf("the plan with a pending release shows no drift (%v):\n%s", err, plan)
	}
	cli.MustRun("apply", "-auto-approve")
	if k := releases(t, ns, relNS)["keystone"]; k.Status != "deployed" || k.Revision <= last.Revision {
		t.Errorf("keystone after recovering: revision %d, %s; want a revision after %d, deployed", k.Revision, k.Status, last.Revision)
	}

	// A given credential upgrades exactly the releases that use it.
	before := releases(t, ns, relNS)
	const given = "given-glance-messaging-password"
	cli.Write(strings.Replace(pinned("0.2.0"), "charts = {", `credentials = { "oslo_messaging/glance" = "`+given+`" }
  charts = {`, 1))
	cli.MustRun("apply", "-auto-approve")
	for name, r := range releases(t, ns, relNS) {
		if moved := r.Revision != before[name].Revision; moved != (name == "glance") {
			t.Errorf("release %s: revision %d -> %d after changing glance's messaging password", name, before[name].Revision, r.Revision)
		}
		if name == "glance" && at(r.Values, "endpoints", "oslo_messaging", "auth", "glance", "password") != given {
			t.Errorf("glance's values do not carry the given password")
		}
	}

	cli.MustRun("destroy", "-auto-approve")
	destroyed = true
}

// stateInstance is one resource instance of a state file.
type stateInstance struct {
	Type       string
	Attributes map[string]json.RawMessage
}

// stateInstances reads every resource instance of a state file.
func stateInstances(t *testing.T, state []byte) []stateInstance {
	t.Helper()
	var s struct {
		Resources []struct {
			Type      string `json:"type"`
			Instances []struct {
				Attributes map[string]json.RawMessage `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	must(t, json.Unmarshal(state, &s))
	var out []stateInstance
	for _, r := range s.Resources {
		for _, in := range r.Instances {
			out = append(out, stateInstance{Type: r.Type, Attributes: in.Attributes})
		}
	}
	return out
}

// generatedSecrets returns the generated_credentials of qumulus_openstack.test in a state file.
func generatedSecrets(t *testing.T, state []byte) []string {
	t.Helper()
	var out []string
	for _, in := range stateInstances(t, state) {
		if in.Type != "qumulus_openstack" {
			continue
		}
		var gc map[string]string
		must(t, json.Unmarshal(in.Attributes["generated_credentials"], &gc))
		for _, v := range gc {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// checkSecretsOnlySensitive fails when a secret is in any attribute of the state other
// than the sensitive ones that are meant to hold it.
func checkSecretsOnlySensitive(t *testing.T, state []byte, secrets []string) {
	t.Helper()
	allowed := map[string]bool{"generated_credentials": true, "admin_password": true, "clouds_yaml": true}
	for _, in := range stateInstances(t, state) {
		for name, raw := range in.Attributes {
			if in.Type == "qumulus_openstack" && allowed[name] {
				continue
			}
			for _, sec := range secrets {
				if strings.Contains(string(raw), sec) {
					t.Errorf("%s.%s holds a generated password", in.Type, name)
					break
				}
			}
		}
	}
}

// TestAccOpenStack_timeout holds one release's hook Job: the create times out within its
// timeout, the release is uninstalled and the error says which timeout to raise; the next
// apply without the hold converges.
func TestAccOpenStack_timeout(t *testing.T) {
	isolateEnv(t)
	repo := chartrepo.ServeTestCharts(t)
	tn := tenantName()
	ns := tenant.DefaultNamespace(tn)
	relNS := "os-" + strings.TrimPrefix(tn, "acc-")
	held := openstackConfig(t, tn, repo, relNS, fmt.Sprintf(`
  services = {
    horizon = {
      values = [yamlencode({ annotations = { job = { horizon_db_sync = { %q = "true" } } } })]
    }
  }
  timeouts = {
    create = "40s"
  }
`, simulator.HoldAnnotation))
	held = strings.Replace(held, "timeouts = {", "timeouts {", 1)
	released := openstackConfig(t, tn, repo, relNS, "")
	defaults := openstack.DefaultServices()
	sort.Strings(defaults)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		CheckDestroy:             checkOpenStackDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config:      held,
				ExpectError: regexp.MustCompile(`(?s)release ` + relNS + `/horizon.*horizon-db-sync.*uninstalled.*raise\s+timeouts.create`),
			},
			{
				Config: released,
				Check:  checkAgreement(t, ns, relNS, defaults),
			},
		},
	})
}
