// Command devcluster runs the local management cluster for the demo and for manual work:
//
//	devcluster up         [-dir .devcluster] [-detach] [-ready-delay 2s] [-tenants-per-server 1] [-v]
//	devcluster down       [-dir .devcluster]
//	devcluster kubeconfig [-dir .devcluster] -namespace NS -name CLUSTER [-out FILE]
//	devcluster apiserver  [-dir .devcluster] stop|start
//
// up starts kube-apiserver, etcd, the CRDs and the platform simulator, serves an
// OpenStack-Helm chart repository (the real charts of ../shared/openstack-helm/repo when
// they are there, else the test charts), writes the admin kubeconfig to <dir>/kubeconfig
// and the repository's URL to <dir>/chart-repository, and runs until it is stopped; with
// -detach it starts itself in the background, shows its progress and returns once the
// cluster is ready. When the cluster already runs, up says so and reuses it. down stops it
// and removes <dir> with everything in it. kubeconfig writes a tenant cluster's admin
// kubeconfig (Kamaji's Secret <name>-admin-kubeconfig) to FILE (mode 0600), or prints it.
//
// To try faults by hand, the running cluster stops its kube-apiserver on SIGUSR1 and starts
// it again on SIGUSR2, at the same address with the same certificates and etcd (every
// kubeconfig keeps working); apiserver stop|start sends those signals. Only the management
// API server stops: etcd, the simulator and the tenant API servers keep running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/chartrepo"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/mgmtcluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/proc"
	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/simulator"
)

const (
	kubeconfigFile = "kubeconfig"
	pidFile        = "devcluster.pid"
	logFile        = "devcluster.log"
	chartRepoFile  = "chart-repository"
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
	case "kubeconfig":
		namespace := fs.String("namespace", "", "the tenant cluster's namespace")
		name := fs.String("name", "", "the tenant cluster's name")
		out := fs.String("out", "", "file to write (mode 0600); standard output when empty")
		_ = fs.Parse(os.Args[2:])
		err = tenantKubeconfig(*dir, *namespace, *name, *out)
	case "apiserver":
		_ = fs.Parse(os.Args[2:])
		err = apiServer(*dir, fs.Arg(0))
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: devcluster up [-dir DIR] [-detach] [-ready-delay D] [-tenants-per-server N] [-v] | devcluster down [-dir DIR] | devcluster kubeconfig [-dir DIR] -namespace NS -name CLUSTER [-out FILE] | "+
		"devcluster apiserver [-dir DIR] stop|start\n\n"+
		"A running cluster stops its kube-apiserver on SIGUSR1 and starts it again on SIGUSR2 (what apiserver stop|start sends), "+
		"at the same address with the same certificates.")
	os.Exit(2)
}

func up(dir string, opts simulator.Options, verbose bool) error {
	if reused(dir) {
		return nil
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
	stopCharts, err := serveCharts(ctx, dir)
	if err != nil {
		_ = cluster.Stop()
		return err
	}
	abs, _ := filepath.Abs(kubeconfig)
	// The kubeconfig is written last: upDetached returns once it exists.
	if err := cluster.WriteKubeconfig(kubeconfig); err != nil {
		stopCharts()
		_ = cluster.Stop()
		return err
	}
	fmt.Printf("devcluster: ready at %s\ndevcluster: kubeconfig %s\n", cluster.Host, abs)
	fmt.Printf("devcluster: SIGUSR1 (devcluster apiserver stop) stops the API server, SIGUSR2 (devcluster apiserver start) starts it again\n")

	faults := make(chan os.Signal, 1)
	signal.Notify(faults, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(faults)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case sig := <-faults:
			fault(ctx, cluster, sig)
		}
	}
	fmt.Println("devcluster: stopping")
	stopCharts()
	err = cluster.Stop()
	_ = os.Remove(kubeconfig)
	_ = os.Remove(filepath.Join(dir, pidFile))
	return err
}

// fault stops (SIGUSR1) or starts (SIGUSR2) the API server, saying what it did.
func fault(ctx context.Context, cluster *mgmtcluster.Cluster, sig os.Signal) {
	started := time.Now()
	if sig == syscall.SIGUSR1 {
		if err := cluster.StopAPIServer(ctx); err != nil {
			fmt.Printf("devcluster: stopping the API server: %v\n", err)
			return
		}
		fmt.Printf("devcluster: API server stopped (%s); SIGUSR2 starts it again\n", time.Since(started).Round(time.Millisecond))
		return
	}
	if err := cluster.StartAPIServer(ctx); err != nil {
		fmt.Printf("devcluster: starting the API server: %v\n", err)
		return
	}
	fmt.Printf("devcluster: API server ready again at %s (%s)\n", cluster.Host, time.Since(started).Round(time.Millisecond))
}

// apiServer sends the running cluster the signal that stops or starts its API server.
func apiServer(dir, what string) error {
	sig := map[string]syscall.Signal{"stop": syscall.SIGUSR1, "start": syscall.SIGUSR2}[what]
	if sig == 0 {
		return fmt.Errorf("apiserver takes stop or start, not %q", what)
	}
	pid, ok := running(dir)
	if !ok {
		return fmt.Errorf("no cluster runs from %s (make dev-up)", dir)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return err
	}
	fmt.Printf("devcluster: asked the cluster (pid %d) to %s its API server; its log (%s) says when it has\n", pid, what, filepath.Join(dir, logFile))
	return nil
}

// reused reports whether a cluster already runs from dir, and says so.
func reused(dir string) bool {
	pid, ok := running(dir)
	if !ok {
		return false
	}
	abs, _ := filepath.Abs(filepath.Join(dir, kubeconfigFile))
	fmt.Printf("devcluster: already running (pid %d); reusing it (stop it with make dev-down)\ndevcluster: kubeconfig %s\n", pid, abs)
	return true
}

// serveCharts serves an OpenStack-Helm chart repository on a local port and writes its URL
// to <dir>/chart-repository: the real charts when ../shared/openstack-helm/repo is there,
// else the test charts packaged at 0.1.0 and 0.2.0 into <dir>/charts.
func serveCharts(ctx context.Context, dir string) (stop func(), err error) {
	root := filepath.Join(chartrepo.SharedDir(), "repo")
	what := "the real OpenStack-Helm charts of " + root
	if !chartrepo.Real() {
		root = filepath.Join(dir, "charts")
		what = "the test charts (0.1.0, 0.2.0; ../shared/openstack-helm is not there)"
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
		if err := chartrepo.BuildDir(ctx, root, "0.1.0", "0.2.0"); err != nil {
			return nil, fmt.Errorf("packaging the test charts: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(root)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if err := os.WriteFile(filepath.Join(dir, chartRepoFile), []byte(url+"\n"), 0o644); err != nil {
		_ = srv.Close()
		return nil, err
	}
	fmt.Printf("devcluster: chart repository %s serves %s\n", url, what)
	return func() {
		_ = srv.Close()
		_ = os.Remove(filepath.Join(dir, chartRepoFile))
	}, nil
}

// upDetached starts `up` in its own session with its output in <dir>/devcluster.log and
// waits until the kubeconfig appears or the child exits.
func upDetached(dir string, args []string) error {
	if reused(dir) {
		return nil
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
	fmt.Printf("devcluster: starting (pid %d; its log: %s)\n", cmd.Process.Pid, log.Name())
	// The child's output is shown as it comes: a cold start builds kube-apiserver and etcd
	// first, which takes minutes.
	var shown int64
	show := func() {
		f, err := os.Open(log.Name())
		if err != nil {
			return
		}
		defer func() { _ = f.Close() }()
		if _, err := f.Seek(shown, io.SeekStart); err != nil {
			return
		}
		n, _ := io.Copy(os.Stdout, f)
		shown += n
	}
	deadline := time.After(45 * time.Minute) // a cold start builds kube-apiserver
	for {
		select {
		case err := <-exited:
			show()
			return fmt.Errorf("the cluster process exited (%w); its log is above and in %s", err, log.Name())
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return errors.New("the cluster did not become ready in time; see " + log.Name())
		case <-time.After(500 * time.Millisecond):
		}
		show()
		if _, err := os.Stat(filepath.Join(dir, kubeconfigFile)); err == nil {
			// the "ready" lines are written right after the kubeconfig
			time.Sleep(100 * time.Millisecond)
			show()
			return nil
		}
	}
}

// tenantKubeconfig writes the admin kubeconfig of tenant cluster namespace/name, read
// from the Secret Kamaji (here: the simulator) keeps it in, to out or standard output.
func tenantKubeconfig(dir, namespace, name, out string) error {
	if namespace == "" || name == "" {
		return errors.New("kubeconfig needs -namespace and -name")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, kubeconfigFile))
	if err != nil {
		return fmt.Errorf("the local management cluster is not running (make dev-up): %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret := name + "-admin-kubeconfig"
	s, err := cs.CoreV1().Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading Secret %s/%s: %w", namespace, secret, err)
	}
	data, ok := s.Data["admin.conf"]
	if !ok {
		return fmt.Errorf("the Secret %s/%s has no key admin.conf yet: is the cluster ready?", namespace, secret)
	}
	if out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		return err
	}
	fmt.Printf("devcluster: wrote the admin kubeconfig of %s/%s to %s\n", namespace, name, out)
	return nil
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
