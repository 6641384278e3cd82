package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// goBenchResult is the output of go test -bench, parsed.
type goBenchResult struct {
	command string
	wall    time.Duration
	results []goBenchmark
	// failed are the FAIL lines of the output when go test failed; the bench goes on
	// and exits non-zero at the end.
	failed []string
	err    error
}

type goBenchmark struct {
	pkg, name  string
	iterations int
	metrics    []goMetric
}

type goMetric struct {
	value float64
	// text is the value as go test printed it.
	text, unit string
}

// metric returns the value of unit.
func (b goBenchmark) metric(unit string) (float64, bool) {
	for _, m := range b.metrics {
		if m.unit == unit {
			return m.value, true
		}
	}
	return 0, false
}

// find returns the benchmark named name (without the -GOMAXPROCS suffix).
func (r *goBenchResult) find(name string) (goBenchmark, bool) {
	if r == nil {
		return goBenchmark{}, false
	}
	for _, b := range r.results {
		if b.name == name || strings.HasPrefix(b.name, name+"-") {
			return b, true
		}
	}
	return goBenchmark{}, false
}

// installWorkloadDelay is the tenant workload delay BenchmarkInstall runs with.
const installWorkloadDelay = "2s"

// runGoBenchmarks runs the Go benchmarks with a local management cluster (TF_ACC=1) and a
// 2 s tenant workload delay: every one (which) or only BenchmarkInstall. Packages run one
// at a time (-p 1), so that no other package's cluster starts while one is timed.
func runGoBenchmarks(ctx context.Context, which string) (*goBenchResult, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	args := []string{"test", "-p", "1", "-count=1", "-timeout=30m", "-run=^$", "-bench=.", "-benchmem", "./..."}
	if which == "install" {
		args = []string{"test", "-count=1", "-timeout=30m", "-run=^$", "-bench=^BenchmarkInstall$", "-benchmem", "./internal/cloud"}
	}
	goBin := "go"
	if g := os.Getenv("GO"); g != "" {
		goBin = g
	}
	res := &goBenchResult{command: fmt.Sprintf("QUMULUS_TEST_WORKLOAD_DELAY=%s TF_ACC=1 go %s", installWorkloadDelay, strings.Join(args, " "))}
	logf("==> Go benchmarks: %s", res.command)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "QUMULUS_TEST_WORKLOAD_DELAY="+installWorkloadDelay, "TF_ACC=1")
	interruptible(cmd)
	started := time.Now()
	out, err := runStreaming(cmd)
	res.wall = time.Since(started)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.results = parseGoBench(out)
	if err != nil {
		res.err = fmt.Errorf("go test -bench: %w", err)
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") {
				res.failed = append(res.failed, strings.TrimSpace(line))
			}
		}
		logf("warning: %v; going on with the other benchmarks", res.err)
	}
	return res, nil
}

// parseGoBench reads the result lines of go test -bench output ("BenchmarkX-2  10  123 ns/op
// 4.5 s/install ..."), each with the package of the "pkg:" line before it.
func parseGoBench(out []byte) []goBenchmark {
	var results []goBenchmark
	pkg := ""
	s := bufio.NewScanner(bytes.NewReader(out))
	s.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for s.Scan() {
		line := s.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		iterations, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		b := goBenchmark{pkg: pkg, name: f[0], iterations: iterations}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			b.metrics = append(b.metrics, goMetric{value: v, text: f[i], unit: f[i+1]})
		}
		if ok {
			results = append(results, b)
		}
	}
	return results
}
