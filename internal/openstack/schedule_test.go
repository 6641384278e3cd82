package openstack

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder runs steps and checks the order Run gives them.
type recorder struct {
	mu            sync.Mutex
	finished      map[string]bool
	order         []string
	running, peak int
	violations    []string
	fail          map[string]bool
	block         func(context.Context, Step) error
	stepsBySvc    map[string]int
	steps         []Step
	reverse       bool
}

func newRecorder(steps []Step, reverse bool) *recorder {
	r := &recorder{finished: map[string]bool{}, fail: map[string]bool{}, stepsBySvc: map[string]int{}, steps: steps, reverse: reverse}
	for i, st := range steps {
		for _, s := range st.Services {
			r.stepsBySvc[s] = i
		}
	}
	return r
}

func (r *recorder) do(ctx context.Context, st Step) error {
	r.mu.Lock()
	r.running++
	r.peak = max(r.peak, r.running)
	i := r.stepsBySvc[st.Services[0]]
	for j, other := range r.steps {
		needs := slices.Contains(st.After, j)
		if r.reverse {
			needs = slices.Contains(other.After, i)
		}
		if needs && !r.finished[other.Services[0]] {
			r.violations = append(r.violations, st.Services[0]+" started before "+other.Services[0]+" finished")
		}
	}
	r.mu.Unlock()
	var err error
	if r.block != nil {
		err = r.block(ctx, st)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running--
	r.finished[st.Services[0]] = true
	r.order = append(r.order, strings.Join(st.Services, "+"))
	if r.fail[st.Services[0]] {
		return errors.New("boom")
	}
	return err
}

func TestRunOrderAndParallelism(t *testing.T) {
	t.Parallel()
	steps, err := Plan(Names())
	if err != nil {
		t.Fatal(err)
	}
	for _, reverse := range []bool{false, true} {
		r := newRecorder(steps, reverse)
		// Every step without predecessors must be running at once before any finishes:
		// a serial Run would never get past the first.
		var first []string
		for i, st := range steps {
			if reverse && !slices.ContainsFunc(steps, func(o Step) bool { return slices.Contains(o.After, i) }) ||
				!reverse && len(st.After) == 0 {
				first = append(first, st.Services[0])
			}
		}
		var arrived sync.WaitGroup
		arrived.Add(len(first))
		r.block = func(ctx context.Context, st Step) error {
			if slices.Contains(first, st.Services[0]) {
				arrived.Done()
				waited := make(chan struct{})
				go func() { arrived.Wait(); close(waited) }()
				select {
				case <-waited:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := Run(ctx, steps, len(steps), reverse, r.do)
		cancel()
		if err != nil {
			t.Fatalf("reverse=%v: %v (the first steps did not run at once)", reverse, err)
		}
		if len(r.violations) > 0 {
			t.Errorf("reverse=%v: %s", reverse, strings.Join(r.violations, "; "))
		}
		if len(r.order) != len(steps) {
			t.Errorf("reverse=%v: ran %v", reverse, r.order)
		}
		if r.peak < len(first) || len(first) < 2 {
			t.Errorf("reverse=%v: at most %d steps at once, %d could start together", reverse, r.peak, len(first))
		}
	}
}

func TestRunBoundsParallelism(t *testing.T) {
	t.Parallel()
	steps, _ := Plan(Names())
	r := newRecorder(steps, false)
	r.block = func(context.Context, Step) error { time.Sleep(time.Millisecond); return nil }
	if err := Run(context.Background(), steps, 2, false, r.do); err != nil {
		t.Fatal(err)
	}
	if r.peak > 2 {
		t.Errorf("%d steps ran at once, limit 2", r.peak)
	}
}

func TestRunFailureStopsOnlyWhatNeedsIt(t *testing.T) {
	t.Parallel()
	steps, _ := Plan(DefaultServices())
	r := newRecorder(steps, false)
	r.fail["keystone"] = true
	err := Run(context.Background(), steps, 4, false, r.do)
	if err == nil {
		t.Fatal("no error")
	}
	for _, ran := range []string{"mariadb", "rabbitmq", "memcached", "openvswitch", "libvirt", "keystone"} {
		if !r.finished[ran] {
			t.Errorf("%s did not run", ran)
		}
	}
	for _, skipped := range []string{"glance", "placement", "nova", "neutron", "horizon"} {
		if r.finished[skipped] {
			t.Errorf("%s ran after keystone failed", skipped)
		}
	}
	var failedStep, skippedNova bool
	for _, e := range unjoin(err) {
		var se *StepError
		if !errors.As(e, &se) {
			t.Errorf("%v is not a *StepError", e)
			continue
		}
		switch {
		case slices.Equal(se.Services, []string{"keystone"}) && se.Err != nil && len(se.Skipped) == 0:
			failedStep = true
		case slices.Contains(se.Services, "nova") && slices.Equal(se.Skipped, []string{"keystone"}):
			skippedNova = true
		}
	}
	if !failedStep || !skippedNova {
		t.Errorf("errors do not say keystone failed and nova was skipped for it: %v", err)
	}
	if !strings.Contains(err.Error(), "nova and neutron not done: keystone failed first") {
		t.Errorf("error text: %v", err)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestRunCanceled(t *testing.T) {
	t.Parallel()
	steps, _ := Plan(DefaultServices())
	ctx, cancel := context.WithCancel(context.Background())
	r := newRecorder(steps, false)
	r.block = func(context.Context, Step) error { cancel(); return nil }
	err := Run(ctx, steps, 1, false, r.do)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want steps not started to fail with context.Canceled", err)
	}
	if len(r.order) != 1 {
		t.Errorf("ran %v after the context ended", r.order)
	}
}

func TestRunCircularPlan(t *testing.T) {
	t.Parallel()
	steps := []Step{{Services: []string{"a"}, After: []int{1}}, {Services: []string{"b"}, After: []int{0}}}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), steps, 2, false, func(context.Context, Step) error { return nil })
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "never runs") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run hangs on a circular plan")
	}
}

func TestCriticalPath(t *testing.T) {
	t.Parallel()
	steps, _ := Plan(DefaultServices())
	// Infrastructure 1, keystone 2, glance and placement 3, nova+neutron 5, horizon 1:
	// the longest chain is infrastructure, keystone, glance, nova+neutron.
	cost := map[string]time.Duration{"keystone": 2, "glance": 3, "placement": 3, "nova": 5, "horizon": 1}
	got := CriticalPath(steps, func(st Step) time.Duration {
		if d, ok := cost[st.Services[0]]; ok {
			return d
		}
		return 1
	})
	if got != 11 {
		t.Errorf("critical path = %d, want 1+2+3+5 = 11", got)
	}
}

// BenchmarkRunCriticalPath installs the default services with each step sleeping as long
// as a release takes to become ready on the simulator (scaled down), and reports the total
// time against the plan's critical path: close to 1 when independent releases overlap.
func BenchmarkRunCriticalPath(b *testing.B) {
	steps, _ := Plan(DefaultServices())
	const unit = 5 * time.Millisecond
	cost := func(st Step) time.Duration {
		if len(st.Services) > 1 {
			return 4 * unit
		}
		return 2 * unit
	}
	critical := CriticalPath(steps, cost)
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		if err := Run(context.Background(), steps, 8, false, func(_ context.Context, st Step) error {
			time.Sleep(cost(st))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(critical), "x-critical-path")
}
