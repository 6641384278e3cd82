package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, url, contentType, want string
	}{
		{"GET", "/apis/kamaji.clastix.io/v1alpha1/namespaces/ns/tenantcontrolplanes/prod", "", "get tenantcontrolplanes"},
		{"GET", "/apis/kamaji.clastix.io/v1alpha1/namespaces/ns/tenantcontrolplanes", "", "list tenantcontrolplanes"},
		{"GET", "/apis/kamaji.clastix.io/v1alpha1/namespaces/ns/tenantcontrolplanes?fieldSelector=x&watch=true", "", "watch tenantcontrolplanes"},
		{"GET", "/api/v1/namespaces/tenant-a", "", "get namespaces"},
		{"GET", "/api/v1/namespaces", "", "list namespaces"},
		{"GET", "/api/v1/namespaces/ns/secrets/prod-admin-kubeconfig", "", "get secrets"},
		{"PATCH", "/apis/kamaji.clastix.io/v1alpha1/namespaces/ns/tenantcontrolplanes/prod", "application/apply-patch+yaml", "apply tenantcontrolplanes"},
		{"PATCH", "/apis/kamaji.clastix.io/v1alpha1/namespaces/ns/tenantcontrolplanes/prod?dryRun=All&fieldManager=x", "application/apply-patch+yaml", "dryrun-apply tenantcontrolplanes"},
		{"PATCH", "/apis/kamaji.clastix.io/v1alpha1/namespaces/ns/tenantcontrolplanes/prod/status", "application/merge-patch+json", "patch tenantcontrolplanes/status"},
		{"PUT", "/api/v1/namespaces/ns/finalize", "", "update namespaces/finalize"},
		{"POST", "/api/v1/namespaces/ns/secrets", "", "create secrets"},
		{"DELETE", "/api/v1/namespaces/ns/secrets/x", "", "delete secrets"},
		{"DELETE", "/api/v1/namespaces/ns/secrets", "", "deletecollection secrets"},
		{"GET", "/api", "", "get discovery"},
		{"GET", "/apis/cluster.x-k8s.io/v1beta2", "", "get discovery"},
		{"GET", "/version", "", "get /version"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := classify(tc.method, u, tc.contentType); got != tc.want {
			t.Errorf("classify(%s %s) = %q, want %q", tc.method, tc.url, got, tc.want)
		}
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	r := requests{"get tenantcontrolplanes": 200, "get discovery": 2, "list secrets": 1}
	if r.total() != 203 || r.verb("get") != 202 || r.verb("list") != 1 {
		t.Errorf("total %d, get %d, list %d", r.total(), r.verb("get"), r.verb("list"))
	}
	if got, want := r.String(), "200 get tenantcontrolplanes, 2 get discovery, 1 list secrets"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (requests{}).String(); got != "none" {
		t.Errorf("empty: %q", got)
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3}, 3},
		{[]time.Duration{5, 1, 3}, 3},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := median([]float64{1, 2, 3, 4}); got != 2.5 {
		t.Errorf("median of floats = %v", got)
	}
}

func TestLeastSquares(t *testing.T) {
	t.Parallel()
	slope, intercept, ok := leastSquares([]float64{10, 100, 200}, []float64{120, 300, 500})
	if !ok || math.Abs(slope-2) > 1e-9 || math.Abs(intercept-100) > 1e-9 {
		t.Errorf("got %v, %v, %v; want 2, 100, true", slope, intercept, ok)
	}
	if _, _, ok := leastSquares([]float64{10, 10}, []float64{1, 2}); ok {
		t.Error("one distinct x must not fit")
	}
	if got := perObject([]int{10}, []float64{250}); got != 25 {
		t.Errorf("perObject with one N = %v, want 25", got)
	}
	if got := perObject([]int{10, 100, 200}, []float64{12, 102, 202}); math.Abs(got-1) > 1e-9 {
		t.Errorf("perObject = %v, want 1", got)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	xs := []time.Duration{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	if got := percentile(xs, 0.9); got != 9 {
		t.Errorf("p90 = %v, want 9", got)
	}
	if got := percentile(xs, 0.5); got != 5 {
		t.Errorf("p50 = %v, want 5", got)
	}
}

func TestParseStatTicks(t *testing.T) {
	t.Parallel()
	// The command name may hold spaces and parentheses.
	stat := "4242 (terraform-provi (x)) S 4200 4242 4200 0 -1 4194560 1234 0 0 0 37 5 0 0 20 0 12 0 999 123 45 18446744073709551615\n"
	got, ok := parseStatTicks([]byte(stat))
	if !ok || got != 42 {
		t.Errorf("parseStatTicks = %d, %v; want 42, true", got, ok)
	}
	if _, ok := parseStatTicks([]byte("4242 (x) S 1")); ok {
		t.Error("a short line must not parse")
	}
}

func TestParseVmHWM(t *testing.T) {
	t.Parallel()
	status := "Name:\tterraform-provi\nVmPeak:\t 1000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t 40960 kB\n"
	got, ok := parseVmHWM(strings.NewReader(status))
	if !ok || got != 80<<20 {
		t.Errorf("parseVmHWM = %d, %v; want %d, true", got, ok, 80<<20)
	}
	if _, ok := parseVmHWM(strings.NewReader("Name:\tx\n")); ok {
		t.Error("no VmHWM must not parse")
	}
}

func TestParseGoBench(t *testing.T) {
	t.Parallel()
	out := `goos: linux
pkg: github.com/qumulus/terraform-provider-qumulus/internal/cloud
cpu: AMD EPYC
BenchmarkInstall-2   	       1	8252458647 ns/op	         8.000 s/critical-path	         8.252 s/install	        22.00 s/serial-sum	         1.032 x-critical-path	445136904 B/op	 1972356 allocs/op
--- BENCH: BenchmarkInstall-2
    bench_test.go:92: 11 services in 10 steps
PASS
pkg: github.com/qumulus/terraform-provider-qumulus/internal/workerpool
BenchmarkTemplateNames-2   	   30812	     42452 ns/op	   11351 B/op	     191 allocs/op
`
	res := &goBenchResult{results: parseGoBench([]byte(out))}
	if len(res.results) != 2 {
		t.Fatalf("got %d results, want 2: %+v", len(res.results), res.results)
	}
	b, ok := res.find("BenchmarkInstall")
	if !ok || !strings.HasSuffix(b.pkg, "/internal/cloud") || b.iterations != 1 {
		t.Fatalf("BenchmarkInstall: %+v, %v", b, ok)
	}
	if x, ok := b.metric("x-critical-path"); !ok || x != 1.032 {
		t.Errorf("x-critical-path = %v, %v", x, ok)
	}
	if m := b.metrics[0]; m.text != "8252458647" || m.unit != "ns/op" {
		t.Errorf("first metric %+v, want the text go test printed", m)
	}
	if _, ok := res.find("BenchmarkMissing"); ok {
		t.Error("found a benchmark that is not there")
	}
	if _, ok := (*goBenchResult)(nil).find("BenchmarkInstall"); ok {
		t.Error("a nil result has no benchmarks")
	}
}

func TestParseApplyJSON(t *testing.T) {
	t.Parallel()
	out := `{"@level":"info","@message":"Terraform 1.5.7","@module":"terraform.ui","@timestamp":"2026-01-02T10:00:00.000000+00:00","terraform":"1.5.7","type":"version","ui":"1.1"}
{"@level":"info","@message":"qumulus_cluster.c[0]: Creating...","@module":"terraform.ui","@timestamp":"2026-01-02T10:00:01.000100+00:00","hook":{"resource":{"addr":"qumulus_cluster.c[0]","module":"","resource":"qumulus_cluster.c[0]","implied_provider":"qumulus","resource_type":"qumulus_cluster","resource_name":"c","resource_key":0},"action":"create"},"type":"apply_start"}
{"@level":"info","@message":"qumulus_cluster.c[1]: Creating...","@module":"terraform.ui","@timestamp":"2026-01-02T10:00:01.000200+00:00","hook":{"resource":{"addr":"qumulus_cluster.c[1]","module":"","resource":"qumulus_cluster.c[1]","implied_provider":"qumulus","resource_type":"qumulus_cluster","resource_name":"c","resource_key":1},"action":"create"},"type":"apply_start"}
{"@level":"info","@message":"qumulus_cluster.c[1]: Creation complete after 2s [id=ns/c1]","@module":"terraform.ui","@timestamp":"2026-01-02T10:00:03.500000+00:00","hook":{"resource":{"addr":"qumulus_cluster.c[1]","module":"","resource":"qumulus_cluster.c[1]","implied_provider":"qumulus","resource_type":"qumulus_cluster","resource_name":"c","resource_key":1},"action":"create","id_key":"id","id_value":"ns/c1","elapsed_seconds":2},"type":"apply_complete"}
{"@level":"info","@message":"qumulus_cluster.c[0]: Creation complete after 3s [id=ns/c0]","@module":"terraform.ui","@timestamp":"2026-01-02T10:00:04.000100+00:00","hook":{"resource":{"addr":"qumulus_cluster.c[0]","module":"","resource":"qumulus_cluster.c[0]","implied_provider":"qumulus","resource_type":"qumulus_cluster","resource_name":"c","resource_key":0},"action":"create","id_key":"id","id_value":"ns/c0","elapsed_seconds":3},"type":"apply_complete"}
`
	ev, err := parseApplyJSON([]byte(out), "qumulus_cluster")
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.start) != 2 || len(ev.complete) != 2 {
		t.Fatalf("%d starts, %d completes; want 2 and 2", len(ev.start), len(ev.complete))
	}
	if got, want := ev.span(), 3*time.Second; got != want {
		t.Errorf("span = %v, want %v", got, want)
	}
	if got := ev.complete[1].Sub(ev.start[1]); got != 2499800*time.Microsecond {
		t.Errorf("c[1] took %v; the microseconds of @timestamp must survive", got)
	}
	if ev, _ := parseApplyJSON([]byte(out), "qumulus_worker_pool"); len(ev.complete) != 0 {
		t.Error("events of another resource type were counted")
	}
}

func TestGoalResult(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		g    goal
		want string
	}{
		{goal{Met: met(true)}, "met"},
		{goal{Met: met(false)}, "**not met**"},
		{goal{}, "not measured"},
		{goal{Info: true}, "reported"},
	} {
		if got := tc.g.result(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.g, got, tc.want)
		}
	}
}
