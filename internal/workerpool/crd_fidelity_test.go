package workerpool

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

// crdSchema reads the v1beta2 schema of a Cluster API CRD from the sigs.k8s.io/cluster-api
// module of the release whose API types the provider is built with.
func crdSchema(t *testing.T, dir, file string) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1beta2" {
			return *v.Schema.OpenAPIV3Schema
		}
	}
	t.Fatalf("%s has no v1beta2", file)
	return apiextensionsv1.JSONSchemaProps{}
}

// at follows a path such as spec.template.spec.files[].path ([] for the items of a list).
func at(s apiextensionsv1.JSONSchemaProps, p string) (apiextensionsv1.JSONSchemaProps, error) {
	for part := range strings.SplitSeq(p, ".") {
		name, items := strings.CutSuffix(part, "[]")
		next, ok := s.Properties[name]
		if !ok {
			return s, fmt.Errorf("no property %q in %s", name, p)
		}
		s = next
		if items {
			if s.Items == nil || s.Items.Schema == nil {
				return s, fmt.Errorf("%s is not a list", name)
			}
			s = *s.Items.Schema
		}
	}
	return s, nil
}

func clusterAPIDir(t *testing.T) string {
	t.Helper()
	root, err := testbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*sigs\.k8s\.io/cluster-api/api\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod does not require sigs.k8s.io/cluster-api/api")
	}
	dir, err := testbin.ModuleDir(context.Background(), "sigs.k8s.io/cluster-api@"+string(m[1]))
	if err != nil {
		t.Skipf("the Cluster API module (for its CRDs) is not available: %v", err)
	}
	return dir
}

// TestCRDFidelity checks that each bound of Cluster API's CRDs on a field a worker pool
// writes is the one the pool's checks apply at plan: a value at the CRD's bound passes the
// check, one beyond it fails. The table maps CRD paths to the pool's attributes.
func TestCRDFidelity(t *testing.T) {
	t.Parallel()
	dir := clusterAPIDir(t)
	const (
		kct = "bootstrap/kubeadm/config/crd/bases/bootstrap.cluster.x-k8s.io_kubeadmconfigtemplates.yaml"
		md  = "core/config/crd/bases/cluster.x-k8s.io_machinedeployments.yaml"
		mhc = "core/config/crd/bases/cluster.x-k8s.io_machinehealthchecks.yaml"
		kcs = "spec.template.spec."
		nr  = kcs + "joinConfiguration.nodeRegistration."
	)
	str := func(check func(string) error) func(int) error {
		return func(n int) error { return check("/" + strings.Repeat("a", n-1)) }
	}
	plainStr := func(check func(string) error) func(int) error {
		return func(n int) error { return check(strings.Repeat("a", n)) }
	}
	constant := func(c int) func(int) error {
		return func(n int) error {
			if n > c {
				return fmt.Errorf("beyond the provider's bound %d", c)
			}
			return nil
		}
	}
	rows := []struct {
		crd, path, attribute string
		maxLength, maxItems  bool
		check                func(int) error
	}{
		{kct, kcs + "files", "files", false, true, constant(MaxFiles)},
		{kct, kcs + "files[].path", "files[*].path", true, false, str(CheckFilePath)},
		{kct, kcs + "files[].content", "files[*].content", true, false, plainStr(func(s string) error { return CheckFileContent(s, "") })},
		{kct, kcs + "files[].owner", "files[*].owner", true, false, plainStr(CheckFileOwner)},
		{kct, kcs + "files[].contentFrom.secret.key", "files[*].secret_key", true, false, constant(MaxSecretKeyLength)},
		{kct, kcs + "files[].permissions", "files[*].permissions", true, false, constant(MaxFilePermissionsLen)},
		{kct, kcs + "preKubeadmCommands", "pre_kubeadm_commands", false, true, constant(MaxCommands)},
		{kct, kcs + "preKubeadmCommands[]", "pre_kubeadm_commands[*]", true, false, plainStr(CheckCommand)},
		{kct, kcs + "postKubeadmCommands", "post_kubeadm_commands", false, true, constant(MaxCommands)},
		{kct, kcs + "postKubeadmCommands[]", "post_kubeadm_commands[*]", true, false, plainStr(CheckCommand)},
		{kct, nr + "kubeletExtraArgs", "kubelet_extra_args", false, true, func(n int) error {
			args := map[string]string{}
			for i := range n {
				args[fmt.Sprintf("flag-%d", i)] = "1"
			}
			return CheckKubeletArgCount(args, nil)
		}},
		{kct, nr + "kubeletExtraArgs[].name", "kubelet_extra_args (keys)", true, false, plainStr(CheckKubeletArgName)},
		{kct, nr + "kubeletExtraArgs[].value", "kubelet_extra_args (values)", true, false, plainStr(CheckKubeletArgValue)},
		{kct, nr + "taints", "node_taints", false, true, constant(MaxTaints)},
		{md, "spec.template.spec.failureDomain", "failure_domain", true, false, constant(MaxFailureDomainLength)},
		{mhc, "spec.checks.unhealthyNodeConditions", "health_check.unhealthy_node_conditions", false, true, constant(MaxNodeConditions)},
	}
	schemas := map[string]apiextensionsv1.JSONSchemaProps{}
	for _, f := range []string{kct, md, mhc} {
		schemas[f] = crdSchema(t, dir, f)
	}
	for _, r := range rows {
		s, err := at(schemas[r.crd], r.path)
		if err != nil {
			t.Errorf("%s (%s): %v", r.path, r.attribute, err)
			continue
		}
		var bound *int64
		if r.maxLength {
			bound = s.MaxLength
		}
		if r.maxItems {
			bound = s.MaxItems
		}
		if bound == nil {
			t.Errorf("%s (%s): the CRD sets no bound any more; drop the row and the provider's check", r.path, r.attribute)
			continue
		}
		if err := r.check(int(*bound)); err != nil {
			t.Errorf("%s (%s): the CRD accepts %d, the provider refuses it: %v", r.path, r.attribute, *bound, err)
		}
		if err := r.check(int(*bound) + 1); err == nil {
			t.Errorf("%s (%s): the CRD refuses %d, the provider accepts it", r.path, r.attribute, *bound+1)
		}
	}

	enums := []struct {
		crd, path, attribute string
		want                 []string
	}{
		{kct, kcs + "files[].encoding", "files[*].encoding", FileEncodings},
		{md, "spec.rollout.strategy.type", "rollout.strategy", []string{StrategyRollingUpdate, StrategyOnDelete}},
	}
	for _, e := range enums {
		s, err := at(schemas[e.crd], e.path)
		if err != nil {
			t.Errorf("%s: %v", e.path, err)
			continue
		}
		var got []string
		for _, v := range s.Enum {
			got = append(got, strings.Trim(string(v.Raw), `"`))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(e.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s): CRD enum %v, provider %v", e.path, e.attribute, got, want)
		}
	}

	// Both rollout bounds are int-or-string, read as the provider reads them.
	for _, p := range []string{"spec.rollout.strategy.rollingUpdate.maxSurge", "spec.rollout.strategy.rollingUpdate.maxUnavailable"} {
		if s, err := at(schemas[md], p); err != nil || !s.XIntOrString {
			t.Errorf("%s: not an int-or-string (%v)", p, err)
		}
	}
}
