package chartsource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// dirRepo is a local directory of chart folders and <name>-<version>.tgz archives (an
// air-gapped site's copy of the charts). Versions come from each chart's Chart.yaml.
type dirRepo struct {
	path string
	scan memo[map[string]repo.ChartVersions]
}

func newDirRepo(path string) *dirRepo {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return &dirRepo{path: path}
}

func (d *dirRepo) String() string { return "directory " + d.path }

func (d *dirRepo) versions(ctx context.Context, name string) (repo.ChartVersions, error) {
	all, err := d.scan.do(ctx, "", func(context.Context) (map[string]repo.ChartVersions, error) { return d.read() })
	if err != nil {
		return nil, err
	}
	return all[name], nil
}

func (d *dirRepo) read() (map[string]repo.ChartVersions, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("reading the chart directory: %w", err)
	}
	all := map[string]repo.ChartVersions{}
	seen := map[string]bool{}
	add := func(md *chart.Metadata, location, digest string) {
		id := md.Name + "\x00" + md.Version
		if seen[id] {
			return
		}
		seen[id] = true
		all[md.Name] = append(all[md.Name], &repo.ChartVersion{Metadata: md, URLs: []string{location}, Digest: digest})
	}
	// Archives first: when a folder and an archive hold the same version, the archive is
	// what was packaged (with its dependencies) and wins.
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tgz") {
			continue
		}
		p := filepath.Join(d.path, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("chart source %s: %w", d, err)
		}
		ch, err := archiveOf(data, "").load()
		if err != nil {
			return nil, fmt.Errorf("chart source %s: loading %s: %w", d, e.Name(), err)
		}
		add(ch.Metadata, p, sha256Hex(data))
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(d.path, e.Name())
		if _, err := os.Stat(filepath.Join(p, chartutil.ChartfileName)); err != nil {
			continue // not a chart (values_overrides/, a repo/ of archives, …)
		}
		md, err := chartutil.LoadChartfile(filepath.Join(p, chartutil.ChartfileName))
		if err != nil {
			return nil, fmt.Errorf("chart source %s: %s: %w", d, e.Name(), err)
		}
		add(md, p, "")
	}
	for _, cvs := range all {
		sortNewestFirst(cvs)
	}
	return all, nil
}

func (d *dirRepo) describe(_ context.Context, cv *repo.ChartVersion) (Resolved, error) {
	return Resolved{Name: cv.Name, Version: cv.Version, AppVersion: cv.AppVersion, Digest: cv.Digest}, nil
}

func (d *dirRepo) fetch(_ context.Context, cv *repo.ChartVersion) (archive, error) {
	p := cv.URLs[0]
	if cv.Digest == "" {
		// A folder is read again on each Load: it is local, and a shared *chart.Chart
		// would be modified by the installs using it.
		return archive{load: func() (*chart.Chart, error) { return loadFolder(p, nil) }}, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return archive{}, fmt.Errorf("chart source %s: %w", d, err)
	}
	if got := sha256Hex(data); got != cv.Digest {
		return archive{}, &DigestError{Chart: cv.Name, Version: cv.Version, URL: p, Want: cv.Digest, Got: got}
	}
	return archiveOf(data, cv.Digest), nil
}

// loadFolder loads a chart folder and adds the file://../<dep> dependencies missing from its
// charts/ directory from their folders, as `helm dependency build` would: OpenStack-Helm's
// sources refer to helm-toolkit that way and do not render without it.
func loadFolder(dir string, parents []string) (*chart.Chart, error) {
	for _, p := range parents {
		if p == dir {
			return nil, fmt.Errorf("chart %s depends on itself through %s", dir, strings.Join(parents, " -> "))
		}
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, dep := range ch.Dependencies() {
		have[dep.Name()] = true
	}
	for _, dep := range ch.Metadata.Dependencies {
		if have[dep.Name] || !strings.HasPrefix(dep.Repository, "file://") {
			continue
		}
		depDir := filepath.FromSlash(strings.TrimPrefix(dep.Repository, "file://"))
		if !filepath.IsAbs(depDir) {
			depDir = filepath.Join(dir, depDir)
		}
		sub, err := loadFolder(depDir, append(slices.Clip(parents), dir))
		if err != nil {
			return nil, fmt.Errorf("chart %s: dependency %s (%s): %w", ch.Name(), dep.Name, dep.Repository, err)
		}
		if sub.Name() != dep.Name {
			return nil, fmt.Errorf("chart %s: dependency %s at %s is chart %s", ch.Name(), dep.Name, dep.Repository, sub.Name())
		}
		if err := checkDependencyVersion(dep, sub.Metadata.Version); err != nil {
			return nil, fmt.Errorf("chart %s: %w", ch.Name(), err)
		}
		ch.AddDependency(sub)
		have[dep.Name] = true
	}
	return ch, nil
}

func checkDependencyVersion(dep *chart.Dependency, version string) error {
	if dep.Version == "" {
		return nil
	}
	c, err := semver.NewConstraint(dep.Version)
	if err != nil {
		return fmt.Errorf("dependency %s: invalid version %q: %w", dep.Name, dep.Version, err)
	}
	v, err := semver.NewVersion(version)
	if err != nil || !c.Check(v) {
		return fmt.Errorf("dependency %s: %s at %s is version %s, not %s", dep.Name, dep.Name, dep.Repository, version, dep.Version)
	}
	return nil
}
