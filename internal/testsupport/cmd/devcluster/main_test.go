package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
