package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// startupRuns is the least number of terraform validate runs: each is short.
const startupRuns = 5

// benchStartup times terraform validate of examples/demo, which starts the provider for
// its schema and nothing else.
func benchStartup(ctx context.Context, h *harness) (section, error) {
	root, err := repoRoot()
	if err != nil {
		return section{}, err
	}
	data := filepath.Join(h.work, "validate-demo")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return section{}, err
	}
	// The configuration stays where it is (it calls ../modules/tenant-onboarding); its
	// working data goes to the bench's directory.
	w := &workspace{tf: h.tf, dir: data, chdir: filepath.Join(root, "examples", "demo"),
		env: []string{"TF_DATA_DIR=" + filepath.Join(data, ".terraform")}}
	if _, err := w.run(ctx, nil, "get", "-no-color"); err != nil {
		return section{}, err
	}
	runs := max(h.o.runs, startupRuns)
	var walls, cpus []time.Duration
	var rss []int64
	var perRun []string
	for i := range runs {
		r, err := w.run(ctx, nil, "validate", "-no-color")
		if err != nil {
			return section{}, err
		}
		walls = append(walls, r.wall)
		cpus = append(cpus, r.provider.CPU)
		rss = append(rss, r.provider.PeakRSS)
		perRun = append(perRun, fmt.Sprintf("%s / %s / %s", seconds(r.wall), millis(r.provider.CPU), mib(r.provider.PeakRSS)))
		logf("startup: validate %d/%d: %s, provider CPU %s, peak RSS %s (%d provider processes)", i+1, runs, seconds(r.wall),
			millis(r.provider.CPU), mib(r.provider.PeakRSS), r.provider.Processes)
	}
	s := section{Title: "4. Start-up: `terraform validate` of examples/demo"}
	s.Method = fmt.Sprintf("`terraform get` once (the demo calls ./examples/modules/tenant-onboarding), then `terraform validate` "+
		"of examples/demo %d times, each timed from start to exit; validate starts the provider for its schema and nothing else. "+
		"Provider CPU and peak RSS as in 1.", runs)
	s.Body = fmt.Sprintf("| validate (median) | provider CPU (median) | provider peak RSS (median, largest) | each run: wall / CPU / peak RSS |\n"+
		"| --- | --- | --- | --- |\n| %s | %s | %s, %s | %s |\n",
		seconds(median(walls)), millis(median(cpus)), mib(median(rss)), mib(slices.Max(rss)), strings.Join(perRun, "; "))
	s.Goals = []goal{{What: "start-up: `terraform validate` of examples/demo", Target: "≤ 0.25 s",
		Measured: fmt.Sprintf("%s (median of %d; provider peak RSS %s)", seconds(median(walls)), runs, mib(slices.Max(rss))),
		Met:      met(median(walls) <= 250*time.Millisecond)}}
	return s, nil
}
