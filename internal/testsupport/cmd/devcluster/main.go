// Command devcluster runs the local management cluster for the demo and for manual work:
//
//	devcluster up   [-dir .devcluster] [-detach] [-ready-delay 2s] [-tenants-per-server 1] [-v]
//	devcluster down [-dir .devcluster]
//
// up starts kube-apiserver, etcd, the CRDs and the platform simulator, writes the admin
// kubeconfig to <dir>/kubeconfig and runs until it is stopped; with -detach it starts
// itself in the background and returns once the cluster is ready. down stops it and
// removes <dir> with everything in it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/proc"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

const (
	kubeconfigFile = "kubeconfig"
	pidFile        = "devcluster.pid"
	logFile        = "devcluster.log"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".devcluster", "directory for the kubeconfig, pid and log files")
	var err error
	switch os.Args[1] {
	case "up":
		detach := fs.Bool("detach", false, "run in the background; return once the cluster is ready")
		readyDelay := fs.Duration("ready-delay", 2*time.Second, "how long simulated objects take to become ready")
		perServer := fs.Int("tenants-per-server", 1, "tenant control planes that share one tenant API server")
		verbose := fs.Bool("v", false, "log the simulator's reconciliations")
		_ = fs.Parse(os.Args[2:])
		if *detach {
			err = upDetached(*dir, os.Args[2:])
		} else {
			err = up(*dir, simulator.Options{ReadyDelay: *readyDelay, TenantsPerServer: *perServer}, *verbose)
		}
	case "down":
		_ = fs.Parse(os.Args[2:])
		err = down(*dir)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: devcluster up [-dir DIR] [-detach] [-ready-delay D] [-tenants-per-server N] [-v] | devcluster down [-dir DIR]")
	os.Exit(2)
}

func up(dir string, opts simulator.Options, verbose bool) error {
	if pid, ok := running(dir); ok {
		return fmt.Errorf("already running (pid %d); run make dev-down first", pid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	cluster, err := mgmtcluster.Start(ctx, mgmtcluster.Options{Simulator: opts, Log: os.Stdout, Verbose: verbose})
	if err != nil {
		_ = os.Remove(filepath.Join(dir, pidFile))
		return err
	}
	kubeconfig := filepath.Join(dir, kubeconfigFile)
	if err := cluster.WriteKubeconfig(kubeconfig); err != nil {
		_ = cluster.Stop()
		return err
	}
	abs, _ := filepath.Abs(kubeconfig)
	fmt.Printf("devcluster: ready at %s\ndevcluster: kubeconfig %s\n", cluster.Host, abs)

	<-ctx.Done()
	fmt.Println("devcluster: stopping")
	err = cluster.Stop()
	_ = os.Remove(kubeconfig)
	_ = os.Remove(filepath.Join(dir, pidFile))
	return err
}

// upDetached starts `up` in its own session with its output in <dir>/devcluster.log and
// waits until the kubeconfig appears or the child exits.
func upDetached(dir string, args []string) error {
	if pid, ok := running(dir); ok {
		return fmt.Errorf("already running (pid %d); run make dev-down first", pid)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, kubeconfigFile))
	log, err := os.Create(filepath.Join(dir, logFile))
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var childArgs []string
	for _, a := range args {
		if a != "-detach" && a != "--detach" {
			childArgs = append(childArgs, a)
		}
	}
	cmd := exec.Command(self, append([]string{"up"}, childArgs...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(45 * time.Minute) // a cold start builds kube-apiserver
	for {
		select {
		case err := <-exited:
			out, _ := os.ReadFile(log.Name())
			return fmt.Errorf("the cluster process exited (%w):\n%s", err, out)
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return errors.New("the cluster did not become ready in time; see " + log.Name())
		case <-time.After(500 * time.Millisecond):
		}
		if _, err := os.Stat(filepath.Join(dir, kubeconfigFile)); err == nil {
			out, _ := os.ReadFile(log.Name())
			fmt.Print(string(out))
			return nil
		}
	}
}

func down(dir string) error {
	pid, ok := running(dir)
	if ok {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		deadline := time.Now().Add(2 * time.Minute)
		for proc.Alive(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d did not stop; see %s", pid, filepath.Join(dir, logFile))
			}
			time.Sleep(200 * time.Millisecond)
		}
		fmt.Printf("devcluster: stopped (pid %d)\n", pid)
	}
	return os.RemoveAll(dir)
}

func running(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	return pid, proc.Alive(pid)
}
