package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/qumulus/terraform-provider-qumulus/internal/capi"
	"github.com/qumulus/terraform-provider-qumulus/internal/cluster"
	"github.com/qumulus/terraform-provider-qumulus/internal/kamaji"
	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/workerpool"
)

// tcpReady is what the provider waits for after creating a qumulus_cluster of clusterConfig.
func tcpReady(obj *unstructured.Unstructured) bool {
	replicas := int64(clusterReplicas)
	return cluster.StatusOf(obj).Ready(cluster.Spec{Version: clusterVersion, Replicas: &replicas})
}

// mdReady is what the provider waits for after creating a qumulus_worker_pool.
func mdReady(obj *unstructured.Unstructured) bool {
	return workerpool.StatusOf(obj).Ready()
}

// readyWatch records when each object of a namespace is first seen ready.
type readyWatch struct {
	ready  func(*unstructured.Unstructured) bool
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	at      map[string]time.Time
	waiters map[string]chan struct{}
}

// watchReady lists and watches r (directly, not through the proxy) and returns once the
// list is in.
func watchReady(ctx context.Context, r dynamic.ResourceInterface, ready func(*unstructured.Unstructured) bool) (*readyWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &readyWatch{ready: ready, cancel: cancel, done: make(chan error, 1), at: map[string]time.Time{}, waiters: map[string]chan struct{}{}}
	synced := make(chan struct{})
	go func() {
		_, err := watchtools.UntilWithSync(ctx, kube.ListWatch(r, metav1.ListOptions{}), &unstructured.Unstructured{},
			func(store cache.Store) (bool, error) {
				for _, item := range store.List() {
					if obj, ok := item.(*unstructured.Unstructured); ok {
						w.observe(obj)
					}
				}
				close(synced)
				return false, nil
			},
			func(e watch.Event) (bool, error) {
				if obj, ok := e.Object.(*unstructured.Unstructured); ok && e.Type != watch.Deleted {
					w.observe(obj)
				}
				return false, nil
			})
		w.done <- err
	}()
	select {
	case <-synced:
		return w, nil
	case err := <-w.done:
		cancel()
		return nil, fmt.Errorf("watching: %w", err)
	}
}

func (w *readyWatch) observe(obj *unstructured.Unstructured) {
	now := time.Now()
	if !w.ready(obj) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.at[obj.GetName()]; ok {
		return
	}
	w.at[obj.GetName()] = now
	if ch, ok := w.waiters[obj.GetName()]; ok {
		close(ch)
	}
}

// readyAt is when name was first seen ready.
func (w *readyWatch) readyAt(name string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.at[name]
	return t, ok
}

// wait blocks until name is ready.
func (w *readyWatch) wait(ctx context.Context, name string) error {
	w.mu.Lock()
	if _, ok := w.at[name]; ok {
		w.mu.Unlock()
		return nil
	}
	ch, ok := w.waiters[name]
	if !ok {
		ch = make(chan struct{})
		w.waiters[name] = ch
	}
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *readyWatch) stop() {
	w.cancel()
	if err := <-w.done; err != nil && !wait.Interrupted(err) && !errors.Is(err, context.Canceled) {
		logf("warning: watch ended with %v", err)
	}
}

// applyEvents are the timestamps of Terraform's apply_start and apply_complete messages
// (terraform apply -json), by count index.
type applyEvents struct {
	start, complete map[int]time.Time
}

func parseApplyJSON(out []byte, resource string) (applyEvents, error) {
	ev := applyEvents{start: map[int]time.Time{}, complete: map[int]time.Time{}}
	s := bufio.NewScanner(bytes.NewReader(out))
	s.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for s.Scan() {
		var m struct {
			Type      string `json:"type"`
			Timestamp string `json:"@timestamp"`
			Hook      struct {
				Resource struct {
					Addr         string `json:"addr"`
					ResourceType string `json:"resource_type"`
					ResourceKey  any    `json:"resource_key"`
				} `json:"resource"`
				Action string `json:"action"`
			} `json:"hook"`
		}
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			continue
		}
		if (m.Type != "apply_start" && m.Type != "apply_complete") || m.Hook.Resource.ResourceType != resource || m.Hook.Action != "create" {
			continue
		}
		key, ok := m.Hook.Resource.ResourceKey.(float64)
		if !ok {
			return ev, fmt.Errorf("%s has no count index", m.Hook.Resource.Addr)
		}
		at, err := time.Parse(time.RFC3339Nano, m.Timestamp)
		if err != nil {
			return ev, fmt.Errorf("%s: @timestamp %q: %w", m.Type, m.Timestamp, err)
		}
		if m.Type == "apply_start" {
			ev.start[int(key)] = at
		} else {
			ev.complete[int(key)] = at
		}
	}
	return ev, s.Err()
}

// span is the time from the first start to the last completion.
func (ev applyEvents) span() time.Duration {
	var first, last time.Time
	for _, t := range ev.start {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	for _, t := range ev.complete {
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(first)
}

// readinessRun is one run of one kind: the latencies of its creates and its timings.
type readinessRun struct {
	latencies []time.Duration
	apply     *tfRun
	creates   time.Duration // first apply_start to last apply_complete
	floor     time.Duration // the same count made ready without the provider
}

func benchReadiness(ctx context.Context, h *harness) (section, error) {
	if err := h.setup(ctx); err != nil {
		return section{}, err
	}
	template, err := h.dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(warmUpNamespace).Get(ctx, "c0", metav1.GetOptions{})
	if err != nil {
		return section{}, fmt.Errorf("reading the warm-up TenantControlPlane: %w", err)
	}
	var clusters, pools []readinessRun
	for run := range h.o.runs {
		c, err := readinessClusters(ctx, h, run, template)
		if err != nil {
			return section{}, err
		}
		clusters = append(clusters, c)
		logf("readiness: run %d/%d: %d clusters: latency median %s, creates %s, floor %s (%.2f×)", run+1, h.o.runs, h.o.creates,
			millis(median(c.latencies)), seconds(c.creates), seconds(c.floor), ratio(c.creates, c.floor))
		if run >= h.o.poolRuns {
			continue
		}
		p, err := readinessPools(ctx, h, run)
		if err != nil {
			return section{}, err
		}
		pools = append(pools, p)
		logf("readiness: run %d/%d: %d worker pools: latency median %s, creates %s", run+1, h.o.runs, h.o.creates,
			millis(median(p.latencies)), seconds(p.creates))
	}
	return readinessSection(h.o, clusters, pools), nil
}

// readinessClusters creates o.creates clusters with the provider, then as many
// TenantControlPlanes without it.
func readinessClusters(ctx context.Context, h *harness, run int, template *unstructured.Unstructured) (readinessRun, error) {
	var res readinessRun
	ns := fmt.Sprintf("bench-ready-c%d", run)
	if err := h.namespace(ctx, ns); err != nil {
		return res, err
	}
	rw, err := watchReady(ctx, h.dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(ns), tcpReady)
	if err != nil {
		return res, err
	}
	w, err := h.workspace(fmt.Sprintf("ready-clusters-%d", run), clusterConfig(ns))
	if err != nil {
		rw.stop()
		return res, err
	}
	res.apply, err = w.apply(ctx, h.o.creates, "-json")
	rw.stop()
	if err != nil {
		return res, err
	}
	ev, err := parseApplyJSON(res.apply.stdout, "qumulus_cluster")
	if err != nil {
		return res, err
	}
	if res.latencies, err = latencies(ev, rw, "c", h.o.creates); err != nil {
		return res, err
	}
	res.creates = ev.span()

	fns := fmt.Sprintf("bench-ready-f%d", run)
	if err := h.namespace(ctx, fns); err != nil {
		return res, err
	}
	res.floor, err = floorCreates(ctx, h, fns, template, h.o.creates)
	return res, err
}

// readinessPools creates o.creates worker pools with the provider.
func readinessPools(ctx context.Context, h *harness, run int) (readinessRun, error) {
	var res readinessRun
	rw, err := watchReady(ctx, h.dyn.Resource(capi.MachineDeploymentGVR).Namespace(poolNamespace), mdReady)
	if err != nil {
		return res, err
	}
	prefix := fmt.Sprintf("w%d-", run)
	w, err := h.workspace(fmt.Sprintf("ready-pools-%d", run), poolConfig(poolNamespace, prefix))
	if err != nil {
		rw.stop()
		return res, err
	}
	res.apply, err = w.apply(ctx, h.o.creates, "-json")
	rw.stop()
	if err != nil {
		return res, err
	}
	ev, err := parseApplyJSON(res.apply.stdout, "qumulus_worker_pool")
	if err != nil {
		return res, err
	}
	if res.latencies, err = latencies(ev, rw, prefix, h.o.creates); err != nil {
		return res, err
	}
	res.creates = ev.span()
	return res, nil
}

// latencies are, per instance, the time from its object turning ready to Terraform's
// apply_complete of it.
func latencies(ev applyEvents, rw *readyWatch, prefix string, n int) ([]time.Duration, error) {
	if len(ev.complete) != n {
		return nil, fmt.Errorf("terraform reported %d of %d creates complete", len(ev.complete), n)
	}
	var out []time.Duration
	for i, done := range ev.complete {
		ready, ok := rw.readyAt(fmt.Sprintf("%s%d", prefix, i))
		if !ok {
			return nil, fmt.Errorf("%s%d: its create completed, but the bench never saw it ready", prefix, i)
		}
		out = append(out, done.Sub(ready))
	}
	return out, nil
}

// floorCreates makes n TenantControlPlanes like template ready without the provider:
// parallelism workers each apply one (server-side apply through the counting proxy, as
// the provider writes) and wait for it to be ready before taking the next, as Terraform
// does with -parallelism. It returns the time from the first apply to the last ready.
func floorCreates(ctx context.Context, h *harness, namespace string, template *unstructured.Unstructured, n int) (time.Duration, error) {
	rw, err := watchReady(ctx, h.dyn.Resource(kamaji.TenantControlPlaneGVR).Namespace(namespace), tcpReady)
	if err != nil {
		return 0, err
	}
	defer rw.stop()
	r := h.proxied.Resource(kamaji.TenantControlPlaneGVR).Namespace(namespace)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	work := make(chan int)
	errs := make(chan error, parallelism)
	var wg sync.WaitGroup
	started := time.Now()
	for range parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("f%d", i)
				body, err := json.Marshal(tcpLike(template, namespace, name).Object)
				if err == nil {
					force := true
					_, err = r.Patch(ctx, name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "qumulus-bench", Force: &force})
				}
				if err == nil {
					err = rw.wait(ctx, name)
				}
				if err != nil {
					errs <- fmt.Errorf("TenantControlPlane %s/%s: %w", namespace, name, err)
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	var last time.Time
	for i := range n {
		if t, ok := rw.readyAt(fmt.Sprintf("f%d", i)); ok && t.After(last) {
			last = t
		}
	}
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	if ctx.Err() != nil {
		return 0, errors.New("the floor's TenantControlPlanes did not become ready in 10 minutes")
	}
	return last.Sub(started), nil
}

// tcpLike is template's spec, labels and annotations under another name.
func tcpLike(template *unstructured.Unstructured, namespace, name string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": template.GetAPIVersion(),
		"kind":       template.GetKind(),
		"spec":       template.Object["spec"],
	}}
	obj.SetNamespace(namespace)
	obj.SetName(name)
	obj.SetLabels(template.GetLabels())
	obj.SetAnnotations(template.GetAnnotations())
	return obj
}

func readinessSection(o options, clusters, pools []readinessRun) section {
	s := section{Title: "2. Readiness: from Ready to the create returning"}
	poolRuns := "the first run also applies"
	if len(pools) > 1 {
		poolRuns = fmt.Sprintf("the first %d runs also apply", len(pools))
	}
	s.Method = fmt.Sprintf(`Each of %d runs applies %d `+"`qumulus_cluster`"+`s (as in 1.) into an empty namespace, and %s %d
`+"`qumulus_worker_pool`"+`s (to the Cluster API mode cluster of 1.), with `+"`terraform apply -json -parallelism=%d`"+` and the
provider's defaults. The bench watches the TenantControlPlanes and MachineDeployments itself (directly, not through the proxy)
and records when each is first what the provider waits for (cluster.Status.Ready, workerpool.Status.Ready). The **latency**
of a create is its `+"`apply_complete`"+` message's `+"`@timestamp`"+` (microseconds) minus that moment: the provider's watch
noticing, whatever the provider does after the wait (reading the object back; for a pool, removing unused templates), and
Terraform recording it. **Creates** is the time from the first `+"`apply_start`"+` to the last `+"`apply_complete`"+`; its floor is
the simulator making as many TenantControlPlanes (the same object, copied from one the provider made) Ready without the
provider: %d Go workers each server-side apply one through the proxy and wait for the bench's watch to see it Ready before
taking the next, timed from the first apply to the last Ready. The simulator keeps each new object Provisioning for %s.`,
		len(clusters), o.creates, poolRuns, o.creates, parallelism, parallelism, o.readyDelay)

	var body strings.Builder
	body.WriteString("| run | kind | latency median | p90 | max | creates | floor | creates / floor | `terraform apply` | provider CPU | peak RSS |\n")
	body.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	row := func(run int, kind string, r readinessRun, floor string) {
		fmt.Fprintf(&body, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", run, kind,
			latency(median(r.latencies)), latency(percentile(r.latencies, 0.9)), latency(slices.Max(r.latencies)),
			seconds(r.creates), floor, seconds(r.apply.wall), millis(r.apply.provider.CPU)+" | "+mib(r.apply.provider.PeakRSS))
	}
	var allC, allP, cMedians, pMedians []time.Duration
	var ratios []float64
	for i, c := range clusters {
		allC = append(allC, c.latencies...)
		cMedians = append(cMedians, median(c.latencies))
		ratios = append(ratios, ratio(c.creates, c.floor))
		row(i+1, "clusters", c, fmt.Sprintf("%s | %.2f×", seconds(c.floor), ratio(c.creates, c.floor)))
		if i < len(pools) {
			p := pools[i]
			allP = append(allP, p.latencies...)
			pMedians = append(pMedians, median(p.latencies))
			row(i+1, "worker pools", p, " | ")
		}
	}
	fmt.Fprintf(&body, "\nOver all runs: cluster latency median %s (of %d creates), worker pool latency median %s (of %d).\n",
		latency(median(allC)), len(allC), latency(median(allP)), len(allP))
	s.Body = body.String()
	of := func(medians []time.Duration) string {
		if len(medians) == 1 {
			return "of 1 run"
		}
		return fmt.Sprintf("median of %d runs' medians", len(medians))
	}
	s.Goals = []goal{
		{What: "readiness latency, clusters (TenantControlPlane Ready → create returns)", Target: "≤ 100 ms median",
			Measured: fmt.Sprintf("%s (%s)", latency(median(cMedians)), of(cMedians)), Met: met(median(cMedians) <= 100*time.Millisecond)},
	}
	if len(pools) > 0 {
		s.Goals = append(s.Goals, goal{What: "readiness latency, worker pools (MachineDeployment Ready → create returns)", Target: "≤ 100 ms median",
			Measured: fmt.Sprintf("%s (%s)", latency(median(pMedians)), of(pMedians)), Met: met(median(pMedians) <= 100*time.Millisecond)})
	}
	s.Goals = append(s.Goals, goal{What: fmt.Sprintf("%d cluster creates with waiting against the simulator's own time", o.creates), Target: "≤ 1.1×",
		Measured: fmt.Sprintf("%.2f× (median of %d runs)", median(ratios), len(ratios)), Met: met(median(ratios) <= 1.1)})
	return s
}

// latency shows a duration in milliseconds with one decimal.
func latency(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// percentile is the q-quantile of xs (nearest rank).
func percentile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
