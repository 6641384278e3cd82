// Package acctest is the acceptance-test harness: it prepares the Terraform CLI and the
// management cluster once per test package and offers checks that read the API.
package acctest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

var (
	cluster *mgmtcluster.Cluster
	// scratch is a directory that lives as long as the test binary.
	scratch string
)

// Run is the body of an acceptance-test package's TestMain. Without TF_ACC it runs only
// the unit tests. With it, it provides the CLI (see provideCLI), an empty CLI configuration when
// none is set, and the management cluster (QUMULUS_TEST_KUBECONFIG, else the local one),
// then runs the tests and stops what it started.
func Run(m *testing.M) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()

	if err := provideCLI(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "acctest: no Terraform CLI:", err)
		return 1
	}
	var err error
	scratch, err = os.MkdirTemp("", "qumulus-acc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(scratch) }()
	if rc := os.Getenv("TF_CLI_CONFIG_FILE"); rc == "" || !fileExists(rc) {
		// Without a readable CLI configuration the CLI prints a warning that the test
		// framework mistakes for version output.
		rc := filepath.Join(scratch, "terraformrc")
		if err := os.WriteFile(rc, nil, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_ = os.Setenv("TF_CLI_CONFIG_FILE", rc)
	}

	// QUMULUS_TEST_WORKLOAD_DELAY (a duration) makes tenant workloads take that long to
	// become ready, for benchmarks that compare install time with the critical path.
	workloadDelay, err := time.ParseDuration(cmp.Or(os.Getenv("QUMULUS_TEST_WORKLOAD_DELAY"), "0s"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "acctest: QUMULUS_TEST_WORKLOAD_DELAY:", err)
		return 1
	}
	cluster, err = mgmtcluster.FromEnvironment(ctx, mgmtcluster.Options{
		Simulator: simulator.Options{ReadyDelay: 500 * time.Millisecond, DeleteDelay: 300 * time.Millisecond, WorkloadDelay: workloadDelay},
		Verbose:   os.Getenv("QUMULUS_TEST_VERBOSE") != "",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "acctest: management cluster:", err)
		return 1
	}
	if cluster.Simulated {
		fmt.Printf("acctest: local management cluster at %s (CRDs: %s)\n", cluster.Host, cluster.CRDs)
	} else {
		fmt.Printf("acctest: existing management cluster at %s (%s)\n", cluster.Host, mgmtcluster.ExistingClusterEnv)
	}
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "acctest: stopping the management cluster:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// provideCLI points the test framework at a CLI: TF_ACC_TERRAFORM_PATH when set, else
// OpenTofu with QUMULUS_TEST_CLI=tofu (for ephemeral resources and write-only attributes),
// else Terraform testbin.TerraformVersion.
func provideCLI(ctx context.Context) error {
	if os.Getenv("TF_ACC_TERRAFORM_PATH") != "" {
		return nil
	}
	get := testbin.Terraform
	if os.Getenv("QUMULUS_TEST_CLI") == "tofu" {
		get = testbin.OpenTofu
		// OpenTofu refuses the framework's default provider namespace "-".
		if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
			_ = os.Setenv("TF_ACC_PROVIDER_NAMESPACE", "qumulus")
		}
	}
	cli, err := get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("acctest: CLI %s\n", cli)
	return os.Setenv("TF_ACC_TERRAFORM_PATH", cli)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Cluster returns the management cluster, skipping the test when there is none (TF_ACC
// not set).
func Cluster(t testing.TB) *mgmtcluster.Cluster {
	t.Helper()
	if cluster == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	return cluster
}

// KubeconfigFile writes the admin kubeconfig of the management cluster to a file that
// lives as long as the test.
func KubeconfigFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := Cluster(t).WriteKubeconfig(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ProviderBlock is a provider configuration that reaches the management cluster through
// an inline kubeconfig.
func ProviderBlock(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("provider \"qumulus\" {\n  config_content = %s\n}\n", HCLString(string(Cluster(t).Kubeconfig)))
}

// HCLString quotes s as an HCL string literal.
func HCLString(s string) string {
	q := fmt.Sprintf("%q", s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

// CheckDestroyed returns a CheckDestroy function that fails while any resource of
// resourceType in the state still has its object in the management cluster. The object is
// named by the resource's id, "<namespace>/<name>" or "<name>" for cluster-scoped objects.
func CheckDestroyed(resourceType string, gvr schema.GroupVersionResource) func(*terraform.State) error {
	return func(s *terraform.State) error {
		if cluster == nil {
			return nil
		}
		dyn, err := dynamic.NewForConfig(cluster.RESTConfig)
		if err != nil {
			return err
		}
		return checkDestroyed(context.Background(), dyn, s, resourceType, gvr)
	}
}

func checkDestroyed(ctx context.Context, dyn dynamic.Interface, s *terraform.State, resourceType string, gvr schema.GroupVersionResource) error {
	for _, rs := range s.RootModule().Resources {
		if rs.Type != resourceType {
			continue
		}
		ns, name, namespaced := strings.Cut(rs.Primary.ID, "/")
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if namespaced {
			ri = dyn.Resource(gvr).Namespace(ns)
		} else {
			name = ns
		}
		obj, err := ri.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("checking that %s %s is gone: %w", gvr.Resource, rs.Primary.ID, err)
		case obj.GetDeletionTimestamp() != nil:
			return fmt.Errorf("%s %s is still being deleted (finalizers %v)", gvr.Resource, rs.Primary.ID, obj.GetFinalizers())
		default:
			return fmt.Errorf("%s %s still exists after destroy", gvr.Resource, rs.Primary.ID)
		}
	}
	return nil
}
