package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// refreshKind is one resource type of the refresh benchmark.
type refreshKind struct {
	resource string // the Terraform type
	label    string // plural, for the report
	ws       *workspace
	// gvr is the object a raw GET reads for each instance: the resource's main object.
	gvr schema.GroupVersionResource
	// target names that object from the instance's attributes.
	target func(attrs map[string]any) (namespace, name string)

	samples map[int][]refreshSample
}

type refreshSample struct {
	plan     *tfRun
	requests requests
	// floorPlan is the terraform_data plan of the same N in the same round; gets the
	// time of the N raw GETs.
	floorPlan, gets time.Duration
}

func (s refreshSample) floor() time.Duration { return s.floorPlan + s.gets }

const refreshClusterNamespace = "bench-refresh-clusters"

func benchRefresh(ctx context.Context, h *harness) (section, error) {
	if err := h.setup(ctx); err != nil {
		return section{}, err
	}
	if err := h.namespace(ctx, refreshClusterNamespace); err != nil {
		return section{}, err
	}
	str := func(attrs map[string]any, key string) string { s, _ := attrs[key].(string); return s }
	kinds := []*refreshKind{
		{resource: "qumulus_cluster", label: "clusters", gvr: kamaji.TenantControlPlaneGVR,
			target: func(a map[string]any) (string, string) { return str(a, "namespace"), str(a, "name") }},
		{resource: "qumulus_worker_pool", label: "worker pools", gvr: capi.MachineDeploymentGVR,
			target: func(a map[string]any) (string, string) { return str(a, "namespace"), str(a, "name") }},
		{resource: "qumulus_tenant", label: "tenants", gvr: namespacesGVR,
			target: func(a map[string]any) (string, string) { return "", str(a, "namespace") }},
	}
	configs := []string{clusterConfig(refreshClusterNamespace), poolConfig(poolNamespace, "r"), tenantConfig("bench-r")}
	for i, k := range kinds {
		var err error
		if k.ws, err = h.workspace("refresh-"+strings.TrimPrefix(k.resource, "qumulus_"), configs[i]); err != nil {
			return section{}, err
		}
		k.samples = map[int][]refreshSample{}
	}
	floor, err := h.workspace("refresh-floor", floorConfig)
	if err != nil {
		return section{}, err
	}

	ns := slices.Sorted(slices.Values(h.o.ns))
	for _, n := range ns {
		for _, k := range kinds {
			r, err := k.ws.fast().apply(ctx, n)
			if err != nil {
				return section{}, err
			}
			logf("refresh: %d %s applied (%s)", n, k.label, seconds(r.wall))
		}
		if _, err := floor.fast().apply(ctx, n); err != nil {
			return section{}, err
		}
		runs := h.o.runs
		if n == ns[len(ns)-1] && h.o.runsMax > 0 {
			runs = h.o.runsMax
		}
		for run := range runs {
			// The floor's plan is taken once per round and set beside every kind's plan
			// of that round: the rounds interleave, so load that comes and goes on the
			// shared machine touches both sides alike.
			fp, err := floor.plan(ctx, n)
			if err != nil {
				return section{}, err
			}
			for _, k := range kinds {
				h.mgmt.take()
				p, err := k.ws.plan(ctx, n)
				if err != nil {
					return section{}, err
				}
				reqs := h.mgmt.take()
				gets, err := rawGets(ctx, h, k, n)
				if err != nil {
					return section{}, err
				}
				k.samples[n] = append(k.samples[n], refreshSample{plan: p, requests: reqs, floorPlan: fp.wall, gets: gets})
				logf("refresh: N=%d run %d/%d %s: plan %s, %d requests (%s), provider CPU %s, peak RSS %s; floor %s + %s",
					n, run+1, runs, k.label, seconds(p.wall), reqs.total(), reqs, millis(p.provider.CPU), mib(p.provider.PeakRSS),
					seconds(fp.wall), seconds(gets))
			}
		}
	}
	cost, err := dryRunCost(ctx, h, kinds[0], ns[len(ns)-1])
	if err != nil {
		return section{}, err
	}
	s := refreshSection(ns, kinds)
	s.Body += cost.body()
	s.Goals = append(s.Goals, cost.goal())
	return s, nil
}

// changedPlan is the cost of the plan-time dry run (plan_dry_run) on a plan that changes
// every one of n clusters in place: the same plan timed with it on and off.
type changedPlan struct {
	n        int
	on, off  *tfRun
	requests requests // of the plan with the dry run on
	offReqs  requests
}

// dryRunCost plans the cluster workspace of n clusters with one more control plane
// replica each (every cluster changes in place), with the dry run on (the default) and
// off (QUMULUS_PLAN_DRY_RUN=false), and puts the configuration back.
func dryRunCost(ctx context.Context, h *harness, k *refreshKind, n int) (changedPlan, error) {
	c := changedPlan{n: n}
	base := clusterConfig(refreshClusterNamespace)
	changed := strings.Replace(base, fmt.Sprintf("replicas  = %d", clusterReplicas), fmt.Sprintf("replicas  = %d", clusterReplicas+1), 1)
	if changed == base {
		return c, fmt.Errorf("dry-run cost: the cluster configuration has no replicas line to change")
	}
	if err := k.ws.write(changed); err != nil {
		return c, err
	}
	defer func() { _ = k.ws.write(base) }()
	off := *k.ws
	off.env = append(slices.Clone(k.ws.env), "QUMULUS_PLAN_DRY_RUN=false")
	for _, x := range []struct {
		w    *workspace
		run  **tfRun
		reqs *requests
	}{{k.ws, &c.on, &c.requests}, {&off, &c.off, &c.offReqs}} {
		h.mgmt.take()
		r, err := x.w.run(ctx, []int{2}, "plan", "-input=false", "-no-color", "-detailed-exitcode",
			fmt.Sprintf("-parallelism=%d", parallelism), fmt.Sprintf("-var=n=%d", n))
		if err != nil {
			return c, err
		}
		if r.exit != 2 {
			return c, fmt.Errorf("dry-run cost: the plan of %d changed clusters found no changes", n)
		}
		*x.run, *x.reqs = r, h.mgmt.take()
	}
	logf("refresh: plan of %d changed clusters: %s with the dry run (%d dry-run requests, %d in all), %s without (%d requests)",
		n, seconds(c.on.wall), c.requests.verb("dryrun-apply"), c.requests.total(), seconds(c.off.wall), c.offReqs.total())
	return c, nil
}

func (c changedPlan) body() string {
	return fmt.Sprintf("\n**Cost of the plan-time dry run** (`plan_dry_run`): the plan of the %d clusters with one more control plane\n"+
		"replica each (every cluster changes in place), once with the dry run (the default) and once with\n"+
		"`QUMULUS_PLAN_DRY_RUN=false`; one run each.\n\n"+
		"| plan of %d changed clusters | time | requests | dry-run requests | provider CPU |\n| --- | --- | --- | --- | --- |\n"+
		"| dry run on | %s | %d (%s) | %d | %s |\n| dry run off | %s | %d (%s) | %d | %s |\n",
		c.n, c.n, seconds(c.on.wall), c.requests.total(), c.requests, c.requests.verb("dryrun-apply"), millis(c.on.provider.CPU),
		seconds(c.off.wall), c.offReqs.total(), c.offReqs, c.offReqs.verb("dryrun-apply"), millis(c.off.provider.CPU))
}

func (c changedPlan) goal() goal {
	dry := c.requests.verb("dryrun-apply")
	return goal{What: fmt.Sprintf("cost of the plan dry run on a plan that changes %d clusters", c.n), Info: true,
		Target: "reported (0 on a plan without changes, above)",
		Measured: fmt.Sprintf("%s (%s against %s), %d dry-run requests (%.2f per changed cluster)",
			signedSeconds(c.on.wall-c.off.wall), seconds(c.on.wall), seconds(c.off.wall), dry, float64(dry)/float64(c.n))}
}

// signedSeconds is seconds with its sign: a difference of one run each may be either.
func signedSeconds(d time.Duration) string {
	if d < 0 {
		return "−" + seconds(-d)
	}
	return "+" + seconds(d)
}

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// rawGets reads the main object of each of the n instances in the kind's state with one
// GET each, parallelism at a time, through the counting proxy as the provider does, and
// returns the time it took.
func rawGets(ctx context.Context, h *harness, k *refreshKind, n int) (time.Duration, error) {
	targets, err := stateTargets(k.ws, k.resource, k.target)
	if err != nil {
		return 0, err
	}
	if len(targets) != n {
		return 0, fmt.Errorf("the state of %s has %d instances, want %d", k.resource, len(targets), n)
	}
	h.mgmt.take()
	work := make(chan [2]string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	started := time.Now()
	for range parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				r := h.proxied.Resource(k.gvr)
				var err error
				if t[0] == "" {
					_, err = r.Get(ctx, t[1], metav1.GetOptions{})
				} else {
					_, err = r.Namespace(t[0]).Get(ctx, t[1], metav1.GetOptions{})
				}
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	wg.Wait()
	took := time.Since(started)
	if firstErr != nil {
		return 0, fmt.Errorf("raw GET of a %s object: %w", k.resource, firstErr)
	}
	if got := h.mgmt.take().total(); got != n {
		return 0, fmt.Errorf("the proxy counted %d requests for %d raw GETs", got, n)
	}
	return took, nil
}

// stateTargets reads the objects of every instance of resource from the workspace's state.
func stateTargets(w *workspace, resource string, target func(map[string]any) (string, string)) ([][2]string, error) {
	b, err := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
	if err != nil {
		return nil, err
	}
	var state struct {
		Resources []struct {
			Type      string `json:"type"`
			Mode      string `json:"mode"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		return nil, err
	}
	var out [][2]string
	for _, r := range state.Resources {
		if r.Type != resource || r.Mode != "managed" {
			continue
		}
		for _, inst := range r.Instances {
			ns, name := target(inst.Attributes)
			out = append(out, [2]string{ns, name})
		}
	}
	return out, nil
}

// perObject is the least-squares slope of ys over ns, or y/n with a single N.
func perObject(ns []int, ys []float64) float64 {
	xs := make([]float64, len(ns))
	for i, n := range ns {
		xs[i] = float64(n)
	}
	if slope, _, ok := leastSquares(xs, ys); ok {
		return slope
	}
	if len(ns) == 1 && ns[0] > 0 {
		return ys[0] / float64(ns[0])
	}
	return 0
}

func refreshSection(ns []int, kinds []*refreshKind) section {
	s := section{Title: "1. Refresh: `terraform plan` of N objects against its floor"}
	s.Method = fmt.Sprintf(`For each resource type, one configuration of N instances (`+"`count`"+`): bare `+"`qumulus_cluster`"+`s
(ClusterIP, %d replicas), `+"`qumulus_worker_pool`"+`s of 2 machines (Docker machine template) of one Cluster API
mode cluster, and `+"`qumulus_tenant`"+`s with the defaults. The workspace grows from one N to the next by
`+"`terraform apply`"+` (not timed; with the provider's rate limit raised); then each round times `+"`terraform plan -parallelism=%d`"+` (a full refresh; it must plan no changes) of every type and,
in the same round, the **floor**: the plan of the same Terraform with `+"`terraform_data`"+` × N instead (Terraform's own
cost of N resources) plus N raw GETs of the objects' main objects (TenantControlPlane, MachineDeployment, Namespace) from Go
with %d in parallel (the API server's cost). The ratio is plan / floor, per round, then the median. **Requests** are
counted by a reverse proxy between the provider and the management API server (the provider's `+"`host`"+`; the raw GETs
go through it too). **Provider CPU** (user + system) and **peak RSS** (VmHWM) are read from /proc every %s for every
`+"`terraform-provider-qumulus`"+` process Terraform starts in the command (CPU summed, RSS the largest). Per-object
figures are the least-squares slope over N, so that start-up costs (see 4.) do not count. The request rate is requests per
plan over the plan's time: the provider's client-side rate limit (`+"`qps`"+`, default %d, `+"`burst`"+` %d) caps it.`,
		clusterReplicas, parallelism, parallelism, sampleEvery, kube.DefaultQPS, kube.DefaultBurst)

	var body strings.Builder
	var goals []goal
	maxN := ns[len(ns)-1]
	for _, k := range kinds {
		fmt.Fprintf(&body, "**%s** (`%s`)\n\n", capitalize(k.label), k.resource)
		body.WriteString("| N | runs | plan | floor: `terraform_data` plan + N GETs | plan / floor | requests per plan | request rate | provider CPU | peak RSS |\n")
		body.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		var planY, floorY, cpuY, reqY []float64
		for _, n := range ns {
			ss := k.samples[n]
			var plans, floorPlans, gets, cpus []time.Duration
			var ratios []float64
			var reqs []int
			var rss []int64
			changes := 0
			for _, x := range ss {
				plans = append(plans, x.plan.wall)
				floorPlans = append(floorPlans, x.floorPlan)
				gets = append(gets, x.gets)
				cpus = append(cpus, x.plan.provider.CPU)
				ratios = append(ratios, ratio(x.plan.wall, x.floor()))
				reqs = append(reqs, x.requests.total())
				rss = append(rss, x.plan.provider.PeakRSS)
				if x.plan.exit == 2 {
					changes++
				}
			}
			planY = append(planY, float64(median(plans))/float64(time.Millisecond))
			floorY = append(floorY, float64(median(floorPlans)+median(gets))/float64(time.Millisecond))
			cpuY = append(cpuY, float64(median(cpus))/float64(time.Millisecond))
			reqY = append(reqY, float64(median(reqs)))
			note := ""
			if changes > 0 {
				note = fmt.Sprintf(" (%d plans not empty)", changes)
			}
			fmt.Fprintf(&body, "| %d | %d | %s%s | %s + %s | %.2f× | %d (%.2f per object) | %.0f/s | %s | %s (max %s) |\n",
				n, len(ss), seconds(median(plans)), note, seconds(median(floorPlans)), seconds(median(gets)), median(ratios),
				median(reqs), float64(median(reqs))/float64(n), float64(median(reqs))/median(plans).Seconds(),
				millis(median(cpus)), mib(median(rss)), mib(slices.Max(rss)))

			if n == 100 && k.resource == "qumulus_cluster" {
				r := median(ratios)
				goals = append(goals, goal{What: "refresh of 100 clusters against its floor", Target: "≤ 1.5×",
					Measured: fmt.Sprintf("%.2f× (%s against %s + %s)", r, seconds(median(plans)), seconds(median(floorPlans)), seconds(median(gets))), Met: met(r <= 1.5)})
			}
			if n == 200 {
				peak := slices.Max(rss)
				goals = append(goals, goal{What: fmt.Sprintf("provider peak RSS, plan of 200 %s", k.label), Target: "≤ 100 MiB",
					Measured: fmt.Sprintf("%s (largest of %s)", mib(peak), plural(len(rss), "run")), Met: met(peak <= 100<<20)})
			}
		}
		planSlope, floorSlope := perObject(ns, planY), perObject(ns, floorY)
		cpuSlope, reqSlope := perObject(ns, cpuY), perObject(ns, reqY)
		how := "least squares over N = " + joinInts(ns)
		if len(ns) == 1 {
			how = "the total over N: one N only, so start-up is in it"
		}
		fmt.Fprintf(&body, "\nPer object (%s): plan %.2f ms against the floor's %.2f ms; provider CPU %.2f ms; %.2f requests.\n",
			how, planSlope, floorSlope, cpuSlope, reqSlope)
		last := k.samples[maxN]
		if len(last) > 0 {
			fmt.Fprintf(&body, "Requests of the last plan of %d: %s.\n\n", maxN, last[len(last)-1].requests)
		}
		dryRuns := 0
		for _, x := range last {
			dryRuns += x.requests.verb("dryrun-apply")
		}
		goals = append(goals,
			goal{What: fmt.Sprintf("dry-run requests on a no-change plan of %d %s (plan_dry_run)", maxN, k.label), Target: "0",
				Measured: fmt.Sprintf("%d in %s", dryRuns, plural(len(last), "plan")), Met: met(dryRuns == 0)},
			goal{What: fmt.Sprintf("provider CPU per object, refresh of %s", k.label), Target: "≤ 2 ms",
				Measured: fmt.Sprintf("%.2f ms", cpuSlope), Met: met(cpuSlope <= 2)},
			goal{What: fmt.Sprintf("API requests per object per refresh, %s", k.label), Target: "≤ 1 (the floor's: 1 GET)",
				Measured: fmt.Sprintf("%.3f (%s)", reqSlope, perObjectVerbs(k.samples[maxN], maxN)), Met: met(reqSlope <= 1.01 && atMostOnePerObject(k.samples[maxN], maxN))},
		)
	}
	if !slices.Contains(ns, 100) {
		goals = append([]goal{{What: "refresh of 100 clusters against its floor", Target: "≤ 1.5×", Measured: "N = 100 not run"}}, goals...)
	}
	if !slices.Contains(ns, 200) {
		goals = append(goals, goal{What: "provider peak RSS at 200 objects", Target: "≤ 100 MiB", Measured: "N = 200 not run"})
	}
	s.Body = body.String()
	s.Goals = goals
	return s
}

// perObjectVerbs describes the requests per object of the last sample by verb.
func perObjectVerbs(ss []refreshSample, n int) string {
	if len(ss) == 0 || n == 0 {
		return "none"
	}
	r := ss[len(ss)-1].requests
	byVerb := map[string]int{}
	for k, c := range r {
		verb, _, _ := strings.Cut(k, " ")
		byVerb[verb] += c
	}
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(byVerb)) {
		parts = append(parts, fmt.Sprintf("%.2f %s", float64(byVerb[v])/float64(n), strings.ToUpper(v)))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" at N = %d", n)
}

// atMostOnePerObject reports whether no sample of n objects made more than n requests
// (GETs of single objects, or lists that answer many).
func atMostOnePerObject(ss []refreshSample, n int) bool {
	for _, x := range ss {
		if x.requests.total() > n {
			return false
		}
	}
	return len(ss) > 0
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
