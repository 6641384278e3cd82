package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// goal is one target of the issue and whether the run met it.
type goal struct {
	What     string
	Target   string
	Measured string
	// Met is nil when the run did not measure it, or for a figure that is only reported.
	Met *bool
	// Info marks a figure the issue asks to report without a target.
	Info bool
}

func met(ok bool) *bool { return &ok }

func (g goal) result() string {
	switch {
	case g.Info:
		return "reported"
	case g.Met == nil:
		return "not measured"
	case *g.Met:
		return "met"
	}
	return "**not met**"
}

// section is one benchmark's part of the report.
type section struct {
	Title  string
	Method string
	Body   string
	Goals  []goal
	// Took is how long the part ran, set up included.
	Took time.Duration
}

func (s section) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", s.Title)
	if s.Took > 0 {
		fmt.Fprintf(&b, "(This part took %s.)\n\n", s.Took.Round(time.Second))
	}
	if s.Method != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Method))
	}
	if s.Body != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Body))
	}
	if len(s.Goals) > 0 {
		b.WriteString(goalTable(s.Goals))
	}
	return strings.TrimRight(b.String(), "\n")
}

func goalTable(goals []goal) string {
	var b strings.Builder
	b.WriteString("| goal | target | measured | result |\n| --- | --- | --- | --- |\n")
	for _, g := range goals {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", g.What, g.Target, g.Measured, g.result())
	}
	return b.String()
}

type report struct {
	o                options
	started          time.Time
	duration         time.Duration
	terraformVersion string
	loadBefore       string
	goBench          *goBenchResult
	sections         []section
}

func newReport(o options, started time.Time) *report {
	return &report{o: o, started: started, loadBefore: loadAverage()}
}

// add keeps the sections in the order of their numbered titles, whatever order they ran in.
func (r *report) add(s section) {
	r.sections = append(r.sections, s)
	slices.SortStableFunc(r.sections, func(a, b section) int { return strings.Compare(a.Title, b.Title) })
}

func (r *report) goals() []goal {
	var all []goal
	for _, s := range r.sections {
		all = append(all, s.Goals...)
	}
	return all
}

func (r *report) goalsMarkdown() string {
	return "## Goals\n\n" + goalTable(r.goals())
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	took := r.duration.Round(time.Second).String()
	if r.goBench != nil {
		took += fmt.Sprintf(", the Go benchmarks %s of it", r.goBench.wall.Round(time.Second))
	}
	fmt.Fprintf(&b, "Written by `make bench` (`internal/testsupport/cmd/bench`, regenerated whole on every run) on %s; the run took %s.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), took)
	b.WriteString("| | |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| machine | %s |\n", machine())
	fmt.Fprintf(&b, "| load average (1, 5, 15 min) | %s before, %s after: the machine is shared, so figures move between runs |\n", r.loadBefore, loadAverage())
	fmt.Fprintf(&b, "| Go | %s |\n", runtime.Version())
	tf := r.terraformVersion
	if tf == "" {
		tf = "not run"
	}
	fmt.Fprintf(&b, "| Terraform | %s, `-parallelism=%d`, the provider built from this checkout as a development override, no `TF_LOG` |\n", tf, parallelism)
	fmt.Fprintf(&b, "| local management cluster | kube-apiserver and etcd (envtest) and the platform simulator in the bench process; ready delay %s, %d tenant control planes per tenant API server |\n",
		r.o.readyDelay, r.o.perServer)
	runs := fmt.Sprintf("%d", r.o.runs)
	if r.o.runsMax > 0 && r.o.runsMax != r.o.runs {
		runs += fmt.Sprintf(" (%d at the largest N)", r.o.runsMax)
	}
	fmt.Fprintf(&b, "| N | %s |\n| runs per figure | %s; every figure is the median of its runs |\n\n", joinInts(r.o.ns), runs)
	b.WriteString(r.goalsMarkdown())
	b.WriteString("\n")
	for _, s := range r.sections {
		b.WriteString(s.markdown())
		b.WriteString("\n\n")
	}
	b.WriteString(r.goBenchMarkdown())
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func (r *report) goBenchMarkdown() string {
	var b strings.Builder
	b.WriteString("## Go benchmarks\n\n")
	if r.goBench == nil {
		b.WriteString("Not run (`-go-bench off`).\n")
		return b.String()
	}
	fmt.Fprintf(&b, "`%s` (%s).\n\n", r.goBench.command, seconds(r.goBench.wall))
	if r.goBench.err != nil {
		fmt.Fprintf(&b, "**It failed** (%v):\n\n", r.goBench.err)
		for _, line := range r.goBench.failed {
			fmt.Fprintf(&b, "    %s\n", line)
		}
		b.WriteString("\n")
	}
	if len(r.goBench.results) == 0 {
		b.WriteString("No benchmark reported a result.\n")
		return b.String()
	}
	b.WriteString("| package | benchmark | iterations | metrics |\n| --- | --- | --- | --- |\n")
	for _, res := range r.goBench.results {
		var ms []string
		for _, m := range res.metrics {
			ms = append(ms, m.text+" "+m.unit)
		}
		pkg := strings.TrimPrefix(res.pkg, modulePath+"/")
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", pkg, res.name, res.iterations, strings.Join(ms, ", "))
	}
	return b.String()
}

// modulePath is trimmed from package paths in the report.
const modulePath = "github.com/qumulus/terraform-provider-qumulus"

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// machine describes the CPU, cores, memory and kernel from /proc.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) == 0 {
					continue
				}
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					mem = fmt.Sprintf(", %.1f GiB RAM", kb/(1<<20))
				}
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores%s%s", cpu, runtime.NumCPU(), mem, kernel)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
