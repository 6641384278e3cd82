package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

// harness is the local management cluster, the counting proxy in front of it, the
// provider built from this checkout and the Terraform CLI that runs it.
type harness struct {
	o       options
	cluster *mgmtcluster.Cluster
	// mgmt is the proxy the provider reaches the management API server through.
	mgmt *countingProxy
	tf   *terraformCLI
	work string
	// dyn and kube talk to the API server directly (setup, watches); proxied goes
	// through mgmt, as the provider does (the floors' requests).
	dyn      dynamic.Interface
	kube     kubernetes.Interface
	proxied  dynamic.Interface
	setupErr error
	setupRan bool
}

func startHarness(ctx context.Context, o options) (*harness, error) {
	work, err := os.MkdirTemp("", "qumulus-bench-")
	if err != nil {
		return nil, err
	}
	h := &harness{o: o, work: work}
	ok := false
	defer func() {
		if !ok {
			h.close()
		}
	}()

	logf("Terraform %s (built once, cached)", testbin.TerraformVersion)
	tfBin, err := testbin.Terraform(ctx)
	if err != nil {
		return nil, err
	}
	providerDir := filepath.Join(work, "providers")
	if err := os.MkdirAll(providerDir, 0o755); err != nil {
		return nil, err
	}
	logf("building the provider from this checkout")
	if _, err := testbin.Provider(ctx, providerDir); err != nil {
		return nil, fmt.Errorf("building the provider: %w", err)
	}
	logf("starting the local management cluster (simulator ready delay %s, %d tenants per tenant API server)", o.readyDelay, o.perServer)
	h.cluster, err = mgmtcluster.Start(ctx, mgmtcluster.Options{
		Simulator: simulator.Options{ReadyDelay: o.readyDelay, TenantsPerServer: o.perServer},
		Log:       os.Stdout,
		Verbose:   o.verbose,
	})
	if err != nil {
		return nil, err
	}
	admin := rest.CopyConfig(h.cluster.RESTConfig)
	admin.QPS, admin.Burst = -1, 0 // no client-side rate limit: the bench measures the server
	if h.dyn, err = dynamic.NewForConfig(admin); err != nil {
		return nil, err
	}
	if h.kube, err = kubernetes.NewForConfig(admin); err != nil {
		return nil, err
	}
	if h.mgmt, err = newCountingProxy(h.cluster.RESTConfig); err != nil {
		return nil, err
	}
	if h.proxied, err = dynamic.NewForConfig(&rest.Config{Host: h.mgmt.URL, QPS: -1}); err != nil {
		return nil, err
	}
	h.tf, err = newTerraformCLI(ctx, tfBin, work, providerDir, []string{"QUMULUS_HOST=" + h.mgmt.URL})
	if err != nil {
		return nil, err
	}
	if err := h.warmUp(ctx); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	ok = true
	return h, nil
}

// warmUp creates one cluster through the provider before anything is timed: the first
// Ready control plane starts the shared tenant API server (the simulator holds its pool
// while a server starts, which would stall whatever is being timed), and the provider's
// binary gets into the page cache.
func (h *harness) warmUp(ctx context.Context) error {
	logf("warm-up: one qumulus_cluster (starts the shared tenant API server)")
	if err := h.namespace(ctx, warmUpNamespace); err != nil {
		return err
	}
	w, err := h.workspace("warm-up", clusterConfig(warmUpNamespace))
	if err != nil {
		return err
	}
	_, err = w.apply(ctx, 1)
	return err
}

const warmUpNamespace = "bench-warm-up"

func (h *harness) close() {
	if h.mgmt != nil {
		h.mgmt.close()
	}
	if h.cluster != nil {
		if err := h.cluster.Stop(); err != nil {
			logf("stopping the local management cluster: %v", err)
		}
	}
	_ = os.RemoveAll(h.work)
}

// namespace creates a namespace (directly, not through the proxy) unless it exists.
func (h *harness) namespace(ctx context.Context, name string) error {
	_, err := h.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// terraformCLI runs Terraform as a user does: the provider is a development override of
// the binary built from this checkout, no TF_LOG, no other TF_ or QUMULUS_ variables of
// the caller.
type terraformCLI struct {
	bin, version string
	env          []string
}

func newTerraformCLI(ctx context.Context, bin, work, providerDir string, extraEnv []string) (*terraformCLI, error) {
	rc := filepath.Join(work, "terraformrc")
	overrides := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/qumulus/qumulus" = %q
  }
  direct {}
}
`, providerDir)
	if err := os.WriteFile(rc, []byte(overrides), 0o600); err != nil {
		return nil, err
	}
	t := &terraformCLI{bin: bin}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TF_") || strings.HasPrefix(name, "QUMULUS_") {
			continue
		}
		t.env = append(t.env, kv)
	}
	t.env = append(t.env, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
	t.env = append(t.env, extraEnv...)
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s version: %w", bin, err)
	}
	t.version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	return t, nil
}

// workspace is a Terraform working directory with its local state.
type workspace struct {
	tf  *terraformCLI
	dir string
	// chdir is the configuration directory when it is not dir (-chdir); dir then holds
	// only TF_DATA_DIR.
	chdir string
	env   []string
	// par is the apply's -parallelism; 0 is parallelism.
	par int
}

// fast is the workspace for applies that only prepare what is measured: the provider's
// client-side rate limit raised and 50 resources at a time. Everything timed runs with
// the defaults.
func (w *workspace) fast() *workspace {
	c := *w
	c.env = append(slices.Clone(w.env), "QUMULUS_QPS=1000", "QUMULUS_BURST=2000")
	c.par = 50
	return &c
}

func (h *harness) workspace(name, config string) (*workspace, error) {
	dir := filepath.Join(h.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	w := &workspace{tf: h.tf, dir: dir}
	return w, w.write(config)
}

func (w *workspace) write(config string) error {
	return os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o644)
}

// tfRun is one Terraform command: its wall time, exit code, output and what its provider
// processes used.
type tfRun struct {
	args           []string
	wall           time.Duration
	exit           int
	stdout, stderr []byte
	provider       usage
}

func (r *tfRun) output() string {
	return strings.TrimSpace(string(r.stdout) + "\n" + string(r.stderr))
}

// run runs Terraform in the workspace. Exit codes other than 0 and those in okCodes are
// errors.
func (w *workspace) run(ctx context.Context, okCodes []int, args ...string) (*tfRun, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	dir := w.dir
	if w.chdir != "" {
		dir = w.chdir
	}
	cmd := exec.CommandContext(ctx, w.tf.bin, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = append(append([]string{}, w.tf.env...), w.env...)
	interruptible(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := &tfRun{args: args}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	sampled := sampleProviders(cmd.Process.Pid, sampleEvery, stop)
	err := cmd.Wait()
	r.wall = time.Since(started)
	close(stop)
	r.provider = <-sampled
	r.stdout, r.stderr = stdout.Bytes(), stderr.Bytes()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return r, err
		}
		r.exit = exit.ExitCode()
	}
	if r.exit != 0 && !slices.Contains(okCodes, r.exit) {
		return r, fmt.Errorf("terraform %s in %s: exit %d\n%s", strings.Join(args, " "), dir, r.exit, tail(r.output(), 4000))
	}
	return r, nil
}

// plan refreshes and plans with count n; a plan that is not empty is reported, not failed.
func (w *workspace) plan(ctx context.Context, n int) (*tfRun, error) {
	r, err := w.run(ctx, []int{2}, "plan", "-input=false", "-no-color", "-detailed-exitcode",
		fmt.Sprintf("-parallelism=%d", parallelism), fmt.Sprintf("-var=n=%d", n))
	if err == nil && r.exit == 2 {
		logf("warning: the plan of %s with n=%d is not empty:\n%s", filepath.Base(w.dir), n, tail(string(r.stdout), 3000))
	}
	return r, err
}

func (w *workspace) apply(ctx context.Context, n int, extra ...string) (*tfRun, error) {
	args := append([]string{"apply", "-input=false", "-no-color", "-auto-approve",
		fmt.Sprintf("-parallelism=%d", cmp.Or(w.par, parallelism)), fmt.Sprintf("-var=n=%d", n)}, extra...)
	return w.run(ctx, nil, args...)
}

// parallelism is Terraform's default, passed explicitly.
const parallelism = 10

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func repoRoot() (string, error) { return testbin.RepoRoot() }

// interruptible makes a cancelled command get an interrupt, as from Ctrl-C, so that it
// stops what it started (Terraform its providers, go test its test binaries), and a kill
// only if it has not exited a minute later.
func interruptible(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
}

// runStreaming runs cmd with its output shown as it comes and kept.
func runStreaming(cmd *exec.Cmd) ([]byte, error) {
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stdout, &buf)
	cmd.Stderr = io.MultiWriter(os.Stderr, &buf)
	err := cmd.Run()
	return buf.Bytes(), err
}
