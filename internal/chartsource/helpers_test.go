package chartsource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// sharedCharts is ../shared/openstack-helm seen from this package: the real OpenStack-Helm
// chart sources and, in repo/, the same charts packaged with an index.yaml.
const sharedCharts = "../../../shared/openstack-helm"

// fixture is a chart repository directory and what resolving its chart must give.
type fixture struct {
	name   string
	dir    string // served over HTTP
	chart  string // a chart that depends on dep through file://../<dep>
	dep    string
	newest string   // for ""
	exact  string   // an exact version that is not the newest, or the newest when there is one
	ranges []result // constraints and what they resolve to
	all    []string // every version, newest first
	skip   string
}

type result struct{ constraint, want string }

// fixtures returns the testdata repository, built in a temporary directory, and the real
// OpenStack-Helm repository (skipped when ../shared is absent).
func fixtures(t *testing.T) []fixture {
	t.Helper()
	shared := fixture{
		name: "openstack-helm", dir: filepath.Join(sharedCharts, "repo"), chart: "keystone", dep: "helm-toolkit",
		newest: "2026.1.0", exact: "2026.1.0",
		ranges: []result{{"~2026.1", "2026.1.0"}, {">= 2026.1.0, < 2027", "2026.1.0"}},
		all:    []string{"2026.1.0"},
	}
	if _, err := os.Stat(filepath.Join(shared.dir, "index.yaml")); err != nil {
		shared.skip = "SKIP: ../shared absent"
	}
	return []fixture{{
		name: "testdata", dir: buildTestRepo(t), chart: "demo", dep: "toolkit",
		newest: "0.2.0", exact: "0.1.0",
		ranges: []result{{"~0.1", "0.1.0"}, {">= 0.1.0, < 1", "0.2.0"}, {">= 0.3.0-0", "0.3.0-rc.1"}},
		all:    []string{"0.3.0-rc.1", "0.2.0", "0.1.0"},
	}, shared}
}

// buildTestRepo packages the testdata charts the way OpenStack-Helm's repository is built:
// each demo archive bundles toolkit under charts/, toolkit is also packaged on its own, and
// index.yaml lists the archives by relative URL. A 0.3.0-rc.1 pre-release is added from the
// 0.2.0 sources.
func buildTestRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	idx := repo.NewIndexFile()
	pkg := func(folder, version string) {
		ch, err := loadFolder(filepath.Join("testdata", "charts", folder), nil)
		if err != nil {
			t.Fatal(err)
		}
		if version != "" {
			ch.Metadata.Version = version
		}
		path, err := chartutil.Save(ch, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.MustAdd(ch.Metadata, filepath.Base(path), "", fileDigest(t, path)); err != nil {
			t.Fatal(err)
		}
	}
	pkg("toolkit", "")
	pkg("demo-0.1.0", "")
	pkg("demo-0.2.0", "")
	pkg("demo-0.2.0", "0.3.0-rc.1")
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

type serverOptions struct {
	user, password string
	corrupt        bool // serve other bytes for every archive
	tls            bool
}

// repoServer serves a repository directory and counts the requests per path.
type repoServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func serveRepo(t *testing.T, dir string, o serverOptions) *repoServer {
	t.Helper()
	s := &repoServer{hits: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		if o.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != o.user || p != o.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if o.corrupt && strings.HasSuffix(r.URL.Path, ".tgz") {
			_, _ = w.Write([]byte("not the archive the index lists"))
			return
		}
		files.ServeHTTP(w, r)
	})
	if o.tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *repoServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// archiveHits counts the requests for archives.
func (s *repoServer) archiveHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.hits {
		if strings.HasSuffix(p, ".tgz") {
			n += c
		}
	}
	return n
}

func certPEM(s *httptest.Server) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

func dependencyNames(t *testing.T, r Resolved) []string {
	t.Helper()
	if r.Chart == nil {
		t.Fatalf("Load(%s %s) returned no chart", r.Name, r.Version)
	}
	var names []string
	for _, d := range r.Chart.Dependencies() {
		names = append(names, d.Name())
	}
	slices.Sort(names)
	return names
}

// eachFixture runs test for every repository fixture, as a parallel subtest that skips
// a fixture which is not there.
func eachFixture(t *testing.T, test func(t *testing.T, f fixture)) {
	t.Helper()
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			if f.skip != "" {
				t.Skip(f.skip)
			}
			test(t, f)
		})
	}
}
