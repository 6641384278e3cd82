package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/proc"
)

// make dev-up && make dev-down leaves no process and no file behind.
func TestUpDownLeavesNothingBehind(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("starts the local management cluster: set TF_ACC=1 (make testacc)")
	}
	bin := filepath.Join(t.TempDir(), "devcluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "devcluster-state")
	if out, err := exec.Command(bin, "up", "-dir", dir, "-detach").CombinedOutput(); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	pid, ok := running(dir)
	if !ok {
		t.Fatal("up returned but no cluster process runs")
	}
	procs := append([]int{pid}, proc.Descendants(pid)...)
	if len(procs) < 3 {
		t.Errorf("expected the cluster process with etcd and kube-apiserver below it, found pids %v", procs)
	}
	tmpDirs := processDirs(procs)
	if len(tmpDirs) == 0 {
		t.Errorf("no --data-dir or --cert-dir on the command lines of %v: nothing to check after down", procs)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, kubeconfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion(); err != nil {
		t.Fatalf("the kubeconfig written by up does not reach the cluster: %v", err)
	}
	// apiserver stop|start: the API server goes away and comes back where it was.
	answers := func() bool {
		_, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion()
		return err == nil
	}
	for _, step := range []struct {
		what string
		want bool
	}{{"stop", false}, {"start", true}} {
		what, want := step.what, step.want
		if out, err := exec.Command(bin, "apiserver", "-dir", dir, what).CombinedOutput(); err != nil {
			t.Fatalf("apiserver %s: %v\n%s", what, err, out)
		}
		until := time.Now().Add(2 * time.Minute)
		for answers() != want {
			if time.Now().After(until) {
				t.Fatalf("after apiserver %s the API server answers: %v", what, !want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if out, err := exec.Command(bin, "down", "-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range procs {
		for proc.Alive(p) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still runs after down", p)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after down: %v", dir, err)
	}
	for _, d := range tmpDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("data directory %s still exists after down", d)
		}
	}
}

// processDirs finds the temporary data and certificate directories on the command lines
// of procs.
func processDirs(procs []int) []string {
	var dirs []string
	for _, p := range procs {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			for _, flag := range []string{"--data-dir=", "--cert-dir="} {
				if strings.HasPrefix(arg, flag) {
					dirs = append(dirs, strings.TrimPrefix(arg, flag))
				}
			}
		}
	}
	return dirs
}

// make demo applies the whole demo tenant on a local management cluster of its own, a
// second make demo changes nothing, make demo-destroy removes it and make dev-down stops
// the cluster: the README's first command, as a user runs it.
func TestMakeDemo(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("starts a local management cluster and runs Terraform: set TF_ACC=1 (make testacc)")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "devcluster")
	makeTarget := func(target string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", root, target, "DEVDIR="+dir)
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command("make", "--no-print-directory", "-C", root, "dev-down", "DEVDIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("make dev-down: %v\n%s", err, out)
		}
	})

	first := makeTarget("demo")
	for _, want := range []string{
		"Apply complete! Resources: 4 added, 0 changed, 0 destroyed.",
		"Cluster     tenant-demo/demo: Ready, Kubernetes v1.35.0",
		"Worker pool workers: 2 machines ready, 2 available",
		"keystone     deployed",
		"Keystone    http",
		"make demo-kubeconfig",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("make demo: no %q in its output:\n%s", want, first)
		}
	}
	if strings.Count(first, " deployed ") < 11 {
		t.Errorf("make demo: want the 11 default OpenStack releases deployed:\n%s", first)
	}

	second := makeTarget("demo")
	if !strings.Contains(second, "No changes.") || !strings.Contains(second, "devcluster: already running") {
		t.Errorf("a second make demo should reuse the cluster and change nothing:\n%s", second)
	}

	makeTarget("demo-kubeconfig")
	kc := filepath.Join(dir, "demo.kubeconfig")
	if st, err := os.Stat(kc); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("make demo-kubeconfig: %s: %v, mode %v; want mode 0600", kc, err, st)
	} else if cfg, err := clientcmd.BuildConfigFromFlags("", kc); err != nil {
		t.Error(err)
	} else if _, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion(); err != nil {
		t.Errorf("the demo tenant cluster's kubeconfig does not reach it: %v", err)
	}

	destroyed := makeTarget("demo-destroy")
	if !strings.Contains(destroyed, "Destroy complete! Resources: 4 destroyed.") {
		t.Errorf("make demo-destroy:\n%s", destroyed)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, kubeconfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(t.Context(), "tenant-demo", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace tenant-demo after make demo-destroy: %v, want not found", err)
	}
	if _, err := os.Stat(kc); !os.IsNotExist(err) {
		t.Errorf("%s still exists after make demo-destroy", kc)
	}
}
