package openstack

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const testOverrides = "testdata/values_overrides"

// sharedOverrides is upstream's values_overrides in the shared checkout next to the repository.
const sharedOverrides = "../../../shared/openstack-helm/values_overrides"

func TestOverrideCandidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		features []string
		want     []string
	}{
		{"none", nil, nil},
		{"one", []string{"tls"}, []string{"tls"}},
		{"two", []string{"2026.1", "ubuntu_noble"}, []string{"ubuntu_noble", "2026.1", "2026.1-ubuntu_noble"}},
		{"three", []string{"loci", "2025.2", "ubuntu_noble"}, []string{
			"ubuntu_noble", "2025.2", "2025.2-ubuntu_noble",
			"loci", "loci-ubuntu_noble", "loci-2025.2", "loci-2025.2-ubuntu_noble",
		}},
		{"four", []string{"2026.1", "ubuntu_noble", "tls", "netpol"}, []string{
			"netpol", "tls", "tls-netpol",
			"ubuntu_noble", "ubuntu_noble-netpol", "ubuntu_noble-tls", "ubuntu_noble-tls-netpol",
			"2026.1", "2026.1-netpol", "2026.1-tls", "2026.1-tls-netpol",
			"2026.1-ubuntu_noble", "2026.1-ubuntu_noble-netpol", "2026.1-ubuntu_noble-tls", "2026.1-ubuntu_noble-tls-netpol",
		}},
		{"repeated feature", []string{"2026.1", "ubuntu_noble", "2026.1"}, []string{"ubuntu_noble", "2026.1", "2026.1-ubuntu_noble"}},
		{"empty feature", []string{"", "tls"}, []string{"tls"}},
		// "gateway-tls" is both a feature and the join of two: it keeps its first place.
		{"repeated name", []string{"gateway-tls", "gateway", "tls"}, []string{
			"tls", "gateway", "gateway-tls", "gateway-tls-tls", "gateway-tls-gateway", "gateway-tls-gateway-tls",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := OverrideCandidates(tt.features); !slices.Equal(got, tt.want) {
				t.Errorf("OverrideCandidates(%q) =\n  %q\nwant\n  %q", tt.features, got, tt.want)
			}
		})
	}

	t.Run("too many", func(t *testing.T) {
		t.Parallel()
		many := make([]string, MaxFeatures+1)
		for i := range many {
			many[i] = string(rune('a' + i))
		}
		if got := OverrideCandidates(many); got != nil {
			t.Errorf("%d features gave %d candidates, want none", len(many), len(got))
		}
		if got := len(OverrideCandidates(many[:MaxFeatures])); got != 1<<MaxFeatures-1 {
			t.Errorf("%d features gave %d candidates, want %d", MaxFeatures, got, 1<<MaxFeatures-1)
		}
		if _, err := SelectOverrides(t.Context(), DirOverrides(testOverrides), "keystone", many); err == nil {
			t.Error("SelectOverrides with too many features: no error")
		}
	})
}

type selectCase struct {
	chart    string
	features []string
	want     []string
}

func testSelect(t *testing.T, src OverrideSource, tests []selectCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.chart+"/"+strings.Join(tt.features, "_"), func(t *testing.T) {
			t.Parallel()
			got, err := SelectOverrides(t.Context(), src, tt.chart, tt.features)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("SelectOverrides(%s, %q) = %q, want %q", tt.chart, tt.features, got, tt.want)
			}
		})
	}
}

var (
	releaseOS   = []string{"2026.1", "ubuntu_noble"}
	withNetpol  = []string{"2026.1", "ubuntu_noble", "tls", "netpol"}
	lociFirst   = []string{"loci", "2025.2", "ubuntu_noble"}
	lociLast    = []string{"2025.2", "ubuntu_noble", "loci"}
	testSelects = []selectCase{
		{"keystone", releaseOS, []string{"2026.1-ubuntu_noble"}},
		{"memcached", releaseOS, nil},
		{"openvswitch", releaseOS, []string{"ubuntu_noble"}},
		{"nova", releaseOS, []string{"2026.1-ubuntu_noble"}},
		{"keystone", withNetpol, []string{"netpol", "tls", "2026.1-ubuntu_noble"}},
		{"memcached", withNetpol, []string{"netpol"}},
		{"openvswitch", withNetpol, []string{"netpol", "ubuntu_noble"}},
		{"nova", withNetpol, []string{"tls", "2026.1-ubuntu_noble"}},
		{"keystone", lociFirst, []string{"2025.2-ubuntu_noble", "loci-2025.2-ubuntu_noble"}},
		{"keystone", lociLast, []string{"2025.2-ubuntu_noble"}},
		{"glance", releaseOS, nil},
		{"keystone", []string{"../keystone/tls", "netpol"}, []string{"netpol"}},
	}
)

func TestSelectOverridesDir(t *testing.T) {
	t.Parallel()
	testSelect(t, DirOverrides(testOverrides), testSelects)
}

// TestSelectOverridesUpstream reproduces the table of the design (issue 14) against
// upstream's files.
func TestSelectOverridesUpstream(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(sharedOverrides); err != nil {
		t.Skipf("SKIP: ../shared absent (%v)", err)
	}
	testSelect(t, DirOverrides(sharedOverrides), []selectCase{
		{"keystone", releaseOS, []string{"2026.1-ubuntu_noble"}},
		{"mariadb", releaseOS, []string{"2026.1-ubuntu_noble"}},
		{"memcached", releaseOS, nil},
		{"openvswitch", releaseOS, []string{"ubuntu_noble"}},
		{"nova", releaseOS, []string{"2026.1-ubuntu_noble"}},
		{"keystone", withNetpol, []string{"netpol", "tls", "2026.1-ubuntu_noble"}},
		{"mariadb", withNetpol, []string{"netpol", "tls", "2026.1-ubuntu_noble"}},
		{"memcached", withNetpol, []string{"netpol"}},
		{"openvswitch", withNetpol, []string{"netpol", "ubuntu_noble"}},
		{"nova", withNetpol, []string{"netpol", "tls", "2026.1-ubuntu_noble"}},
		{"keystone", lociFirst, []string{"2025.2-ubuntu_noble", "loci-2025.2-ubuntu_noble"}},
		{"keystone", lociLast, []string{"2025.2-ubuntu_noble"}},
	})
}

func TestDirOverrides(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src := DirOverrides(testOverrides)

	names, err := src.Names(ctx, "nova", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026.1-ubuntu_noble", "opensuse_15", "tls"}; !slices.Equal(names, want) {
		t.Errorf("Names(nova) = %q, want %q (no README, no directory)", names, want)
	}
	data, err := src.Read(ctx, "keystone", "netpol")
	if err != nil || !strings.HasPrefix(string(data), "# keystone netpol\n") {
		t.Errorf("Read(keystone, netpol) = %q, %v", data, err)
	}
	if _, err := src.Read(ctx, "keystone", "ldap"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(keystone, ldap) error = %v, want fs.ErrNotExist", err)
	}
	if _, err := src.Read(ctx, "keystone", "../memcached/netpol"); err == nil {
		t.Error("Read outside the chart directory: no error")
	}
	if _, err := DirOverrides(filepath.Join(t.TempDir(), "missing")).Names(ctx, "keystone", []string{"tls"}); err == nil {
		t.Error("Names under a missing root: no error")
	}
}

// countingServer serves the testdata over HTTP, counting requests per path; fail makes a
// path answer 500.
type countingServer struct {
	mu    sync.Mutex
	count map[string]int
	fail  map[string]bool
	*httptest.Server
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{count: map[string]int{}, fail: map[string]bool{}}
	files := http.FileServer(http.Dir(testOverrides))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.count[r.URL.Path]++
		fail := s.fail[r.URL.Path]
		s.mu.Unlock()
		if fail {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *countingServer) requests() (total int, most int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.count {
		total += n
		most = max(most, n)
	}
	return total, most
}

func TestSelectOverridesURL(t *testing.T) {
	t.Parallel()
	srv := newCountingServer(t)
	testSelect(t, URLOverrides(srv.URL+"/", srv.Client()), testSelects)
}

func TestURLOverridesCache(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := newCountingServer(t)
	src := URLOverrides(srv.URL, srv.Client())

	// Concurrent selections share one GET per file.
	var wg sync.WaitGroup
	for range 10 {
		for _, chart := range []string{"keystone", "memcached", "openvswitch"} {
			wg.Go(func() {
				if _, err := SelectOverrides(ctx, src, chart, withNetpol); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	total, most := srv.requests()
	if want := 3 * 15; total != want || most != 1 {
		t.Errorf("%d requests, at most %d per file; want %d, one per file", total, most, want)
	}

	// Reads, and 404s, come from the same answers.
	data, err := src.Read(ctx, "keystone", "tls")
	if err != nil || !strings.HasPrefix(string(data), "# keystone tls\n") {
		t.Errorf("Read(keystone, tls) = %q, %v", data, err)
	}
	if _, err := src.Read(ctx, "keystone", "tls-netpol"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(keystone, tls-netpol) error = %v, want fs.ErrNotExist", err)
	}
	if err := CheckFeatures(ctx, src, []string{"keystone", "memcached", "openvswitch"}, withNetpol); err != nil {
		t.Errorf("CheckFeatures: %v", err)
	}
	if total, _ := srv.requests(); total != 3*15 {
		t.Errorf("%d requests after cached reads and check, want %d", total, 3*15)
	}

	// Failures are no answer: asked again.
	srv.mu.Lock()
	srv.fail["/nova/tls.yaml"] = true
	srv.mu.Unlock()
	for range 2 {
		if _, err := SelectOverrides(ctx, src, "nova", []string{"tls"}); err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("SelectOverrides with a failing server: error %v, want the status", err)
		}
	}
	srv.mu.Lock()
	n := srv.count["/nova/tls.yaml"]
	srv.mu.Unlock()
	if n != 2 {
		t.Errorf("failing file requested %d times, want 2", n)
	}

	if _, err := src.Names(ctx, "keystone", nil); !errors.Is(err, ErrCannotList) {
		t.Errorf("Names(keystone, nil) error = %v, want ErrCannotList", err)
	}
}

func TestCheckFeatures(t *testing.T) {
	t.Parallel()
	all := []string{"keystone", "memcached", "openvswitch", "nova"}
	testFound := &UnknownFeatureError{
		Releases: []string{"2025.2", "2026.1"},
		OSes:     []string{"opensuse_15", "ubuntu_jammy", "ubuntu_noble"},
		Features: []string{"dpdk", "exporter", "loci", "netpol", "tls"},
	}
	srv := newCountingServer(t)
	url := URLOverrides(srv.URL, srv.Client())

	tests := []struct {
		name     string
		src      OverrideSource
		shared   bool
		charts   []string
		features []string
		want     *UnknownFeatureError // nil: no error
	}{
		{name: "known", src: DirOverrides(testOverrides), charts: all, features: withNetpol},
		{name: "loci", src: DirOverrides(testOverrides), charts: all, features: lociFirst},
		{
			name: "unknown release", src: DirOverrides(testOverrides), charts: all,
			features: []string{"2024.9", "ubuntu_noble"},
			want:     &UnknownFeatureError{"2024.9", testFound.Releases, testFound.OSes, testFound.Features},
		},
		{
			name: "unknown feature", src: DirOverrides(testOverrides), charts: all,
			features: []string{"2026.1", "ubuntu_noble", "foo", "bar"},
			want:     &UnknownFeatureError{"foo", testFound.Releases, testFound.OSes, testFound.Features},
		},
		{
			// memcached has no release file: the release is known from keystone.
			name: "across charts", src: DirOverrides(testOverrides),
			charts: []string{"memcached", "keystone"}, features: []string{"2026.1", "ubuntu_noble", "netpol"},
		},
		{
			name: "one chart without release", src: DirOverrides(testOverrides),
			charts: []string{"memcached"}, features: []string{"2026.1", "ubuntu_noble", "netpol"},
			want: &UnknownFeatureError{Feature: "2026.1", Features: []string{"exporter", "netpol"}},
		},
		{name: "URL known", src: url, charts: all, features: withNetpol},
		{
			name: "URL across charts", src: url,
			charts: []string{"memcached", "keystone"}, features: []string{"2026.1", "ubuntu_noble", "netpol"},
		},
		{
			// Probing sees only the candidates of the features asked for.
			name: "URL unknown release", src: url, charts: all,
			features: []string{"2024.9", "ubuntu_noble"},
			want:     &UnknownFeatureError{Feature: "2024.9", OSes: []string{"ubuntu_noble"}},
		},
		{
			name: "URL unknown feature", src: url, charts: all,
			features: []string{"2026.1", "ubuntu_noble", "foo"},
			want:     &UnknownFeatureError{Feature: "foo", Releases: []string{"2026.1"}, OSes: []string{"ubuntu_noble"}},
		},
		{name: "upstream known", shared: true, charts: []string{"keystone", "memcached", "openvswitch", "nova"}, features: withNetpol},
		{
			name: "upstream unknown release", shared: true, charts: []string{"keystone", "memcached", "openvswitch", "nova"},
			features: []string{"2024.9", "ubuntu_noble"},
			want: &UnknownFeatureError{
				Feature:  "2024.9",
				Releases: []string{"2025.1", "2025.2", "2026.1"},
				OSes:     []string{"opensuse_15", "ubuntu_jammy", "ubuntu_noble"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.src
			if tt.shared {
				if _, err := os.Stat(sharedOverrides); err != nil {
					t.Skipf("SKIP: ../shared absent (%v)", err)
				}
				src = DirOverrides(sharedOverrides)
			}
			err := CheckFeatures(t.Context(), src, tt.charts, tt.features)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckFeatures(%q, %q) = %v", tt.charts, tt.features, err)
				}
				return
			}
			var got *UnknownFeatureError
			if !errors.As(err, &got) {
				t.Fatalf("CheckFeatures(%q, %q) = %v, want *UnknownFeatureError", tt.charts, tt.features, err)
			}
			if got.Feature != tt.want.Feature || !slices.Equal(got.Releases, tt.want.Releases) || !slices.Equal(got.OSes, tt.want.OSes) {
				t.Errorf("CheckFeatures(%q, %q) = %#v, want %#v", tt.charts, tt.features, got, tt.want)
			}
			// Upstream's features are many; the test names only the testdata's.
			if !tt.shared && !slices.Equal(got.Features, tt.want.Features) {
				t.Errorf("features = %q, want %q", got.Features, tt.want.Features)
			}
			if tt.shared && (!slices.Contains(got.Features, "tls") || !slices.Contains(got.Features, "netpol")) {
				t.Errorf("features = %q, want tls and netpol among them", got.Features)
			}
		})
	}
}

func TestUnknownFeatureErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  UnknownFeatureError
		want string
	}{
		{
			UnknownFeatureError{"2024.9", []string{"2025.2", "2026.1"}, []string{"ubuntu_noble"}, []string{"netpol", "tls"}},
			`no values_overrides file names the OpenStack release "2024.9"; the files name releases: 2025.2, 2026.1; OSes: ubuntu_noble; features: netpol, tls`,
		},
		{
			UnknownFeatureError{Feature: "ubuntu_focal"},
			`no values_overrides file names the OS "ubuntu_focal"; the files name releases: none; OSes: none; features: none`,
		},
		{
			UnknownFeatureError{Feature: "foo", Features: []string{"tls"}},
			`no values_overrides file names the feature "foo"; the files name releases: none; OSes: none; features: tls`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.err.Feature, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}

func TestCompareReleases(t *testing.T) {
	t.Parallel()
	got := []string{"2026.1", "2025.10", "2025.2", "2024.2"}
	slices.SortFunc(got, compareReleases)
	if want := []string{"2024.2", "2025.2", "2025.10", "2026.1"}; !slices.Equal(got, want) {
		t.Errorf("sorted releases = %q, want %q", got, want)
	}
}
