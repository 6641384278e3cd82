// Package chartrepo serves OpenStack-Helm chart repositories to tests over HTTP: the real
// charts of ../shared/openstack-helm/repo when they are there, else the small test charts
// of internal/openstack/testdata packaged the way upstream publishes its repository.
package chartrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/qumulus/terraform-provider-qumulus/internal/chartsource"
	"github.com/qumulus/terraform-provider-qumulus/internal/openstack"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// SharedDir is ../shared/openstack-helm beside the repository.
func SharedDir() string { return filepath.Join(Root(), "..", "shared", "openstack-helm") }

// TestChartsDir holds the test charts.
func TestChartsDir() string {
	return filepath.Join(Root(), "internal", "openstack", "testdata", "charts")
}

// TestOverridesDir holds the test charts' override files.
func TestOverridesDir() string {
	return filepath.Join(Root(), "internal", "openstack", "testdata", "values_overrides")
}

// Real reports whether ../shared/openstack-helm/repo is there.
func Real() bool {
	_, err := os.Stat(filepath.Join(SharedDir(), "repo", "index.yaml"))
	return err == nil
}

// Repo is a served chart repository.
type Repo struct {
	URL string
	// Real is true for the real charts.
	Real bool
	// Versions are the chart versions it holds, oldest first (the same for every chart).
	Versions []string
	// Overrides is the values_overrides directory that goes with the charts.
	Overrides string
}

// Serve serves the real repository when it is there, else the test charts at versions
// 0.1.0 and 0.2.0, until the test ends.
func Serve(t testing.TB) *Repo {
	t.Helper()
	if Real() {
		srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(SharedDir(), "repo"))))
		t.Cleanup(srv.Close)
		return &Repo{URL: srv.URL, Real: true, Versions: []string{"2026.1.0"}, Overrides: filepath.Join(SharedDir(), "values_overrides")}
	}
	return ServeTestCharts(t)
}

// ServeTestCharts serves the test charts at versions 0.1.0 and 0.2.0 until the test ends,
// whether or not the real charts are there: for tests that need two versions.
func ServeTestCharts(t testing.TB) *Repo {
	t.Helper()
	dir := Build(t, "0.1.0", "0.2.0")
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return &Repo{URL: srv.URL, Versions: []string{"0.1.0", "0.2.0"}, Overrides: TestOverridesDir()}
}

// Build packages every test chart at each version, bundling helm-toolkit as upstream
// does, with an index.yaml of relative URLs, into a temporary directory.
func Build(t testing.TB, versions ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := BuildDir(context.Background(), dir, versions...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// BuildDir is Build into dir, for programs (the local management cluster serves the test
// charts when the real ones are not there).
func BuildDir(ctx context.Context, dir string, versions ...string) error {
	idx := repo.NewIndexFile()
	cache := chartsource.NewCache(nil)
	src := chartsource.Source{Path: TestChartsDir()}
	for _, name := range openstack.Names() {
		for _, v := range versions {
			r, err := cache.Load(ctx, src, name, "")
			if err != nil {
				return fmt.Errorf("loading test chart %s: %w", name, err)
			}
			r.Chart.Metadata.Version = v
			path, err := chartutil.Save(r.Chart, dir)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			if err := idx.MustAdd(r.Chart.Metadata, filepath.Base(path), "", hex.EncodeToString(sum[:])); err != nil {
				return err
			}
		}
	}
	idx.SortEntries()
	return idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644)
}
