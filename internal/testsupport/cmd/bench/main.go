// Command bench measures the provider against the local management cluster and writes
// BENCHMARKS.md at the repository root (make bench):
//
//	bench [-n 10,100,200] [-runs 3] [-runs-max 1] [-creates 100] [-pool-runs 1] [-parts startup,refresh,readiness,openstack]
//	      [-go-bench all|install|off] [-ready-delay 1s] [-tenants-per-server 1000] [-out BENCHMARKS.md] [-v]
//
// It first runs the Go benchmarks (go test -bench, with TF_ACC=1 and a 2 s tenant workload
// delay, so that BenchmarkInstall compares an OpenStack install with its critical path),
// then starts a local management cluster in-process, builds the provider from this checkout
// and runs Terraform 1.5.7 against it the way a user does (a development override, no
// TF_LOG). Every figure is a median of -runs runs, set beside its floor measured in the same
// run, and judged against its goal. The provider reaches the management API server through
// a counting reverse proxy; its CPU time and peak RSS are read from /proc while Terraform
// runs. Each section of BENCHMARKS.md states how its figures are measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	ns         []int
	runs       int
	runsMax    int
	creates    int
	poolRuns   int
	parts      map[string]bool
	goBench    string
	readyDelay time.Duration
	perServer  int
	out        string
	verbose    bool
}

var allParts = []string{"startup", "refresh", "readiness", "openstack"}

func main() {
	var o options
	ns := flag.String("n", "10,100,200", "object counts of the refresh benchmark, comma-separated")
	flag.IntVar(&o.runs, "runs", 3, "runs per figure; each figure is their median")
	flag.IntVar(&o.runsMax, "runs-max", 1, "runs at the largest N of the refresh benchmark (0: -runs); one keeps make bench within 15 minutes")
	flag.IntVar(&o.creates, "creates", 100, "objects created per run of the readiness benchmark")
	flag.IntVar(&o.poolRuns, "pool-runs", 1, "runs of the readiness benchmark that also create worker pools (at most -runs)")
	parts := flag.String("parts", strings.Join(allParts, ","), "which benchmarks against the local cluster to run")
	flag.StringVar(&o.goBench, "go-bench", "all", "Go benchmarks first: all (go test -bench=. ./...), install (only BenchmarkInstall) or off")
	flag.DurationVar(&o.readyDelay, "ready-delay", time.Second, "how long the simulator keeps a new object in its transitional state")
	flag.IntVar(&o.perServer, "tenants-per-server", 1000, "tenant control planes that share one simulated tenant API server")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "report to write, relative to the repository root; empty: none")
	flag.BoolVar(&o.verbose, "v", false, "log the simulator's reconciliations")
	flag.Parse()

	var err error
	if o.ns, err = parseInts(*ns); err != nil {
		fail(fmt.Errorf("-n: %w", err))
	}
	o.parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(allParts, p) {
			fail(fmt.Errorf("-parts: unknown part %q (have %s)", p, strings.Join(allParts, ", ")))
		}
		o.parts[p] = true
	}
	if o.runs < 1 || o.creates < 1 {
		fail(errors.New("-runs and -creates must be at least 1"))
	}
	if !slices.Contains([]string{"all", "install", "off"}, o.goBench) {
		fail(fmt.Errorf("-go-bench: %q is not all, install or off", o.goBench))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err = run(ctx, o)
	stop()
	if err != nil {
		fail(err)
	}
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	rep := newReport(o, started)

	if o.goBench != "off" {
		res, err := runGoBenchmarks(ctx, o.goBench)
		if err != nil {
			return err
		}
		rep.goBench = res
	}

	if len(o.parts) > 0 {
		h, err := startHarness(ctx, o)
		if err != nil {
			return err
		}
		defer h.close()
		rep.terraformVersion = h.tf.version
		for _, part := range allParts {
			if !o.parts[part] {
				continue
			}
			logf("==> %s", part)
			partStarted := time.Now()
			var sec section
			switch part {
			case "startup":
				sec, err = benchStartup(ctx, h)
			case "refresh":
				sec, err = benchRefresh(ctx, h)
			case "readiness":
				sec, err = benchReadiness(ctx, h)
			case "openstack":
				sec, err = benchOpenStack(ctx, h, rep.goBench)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", part, err)
			}
			sec.Took = time.Since(partStarted)
			fmt.Println()
			fmt.Println(sec.markdown())
			rep.add(sec)
		}
	} else if rep.goBench != nil {
		rep.add(installSection(rep.goBench, nil))
	}

	rep.duration = time.Since(started)
	md := rep.markdown()
	fmt.Println()
	fmt.Println(rep.goalsMarkdown())
	fmt.Printf("bench: done in %s\n", rep.duration.Round(time.Second))
	if o.out == "" {
		if rep.goBench != nil {
			return rep.goBench.err
		}
		return nil
	}
	path := o.out
	if !filepath.IsAbs(path) {
		root, err := repoRoot()
		if err != nil {
			return err
		}
		path = filepath.Join(root, path)
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Printf("bench: wrote %s\n", path)
	if rep.goBench != nil && rep.goBench.err != nil {
		return rep.goBench.err
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no counts")
	}
	return out, nil
}

// begun is when the bench started: progress lines show the time since.
var begun = time.Now()

func logf(format string, args ...any) {
	fmt.Printf("bench [%s]: "+format+"\n", append([]any{time.Since(begun).Round(time.Second)}, args...)...)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
