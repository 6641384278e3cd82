package chartsource

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// render renders a loaded chart the way an install does, with default values.
func render(t *testing.T, r Resolved) map[string]string {
	t.Helper()
	if err := chartutil.ProcessDependenciesWithMerge(r.Chart, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(r.Chart, map[string]any{},
		chartutil.ReleaseOptions{Name: r.Name, Namespace: "openstack", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(r.Chart, vals)
	if err != nil {
		t.Fatalf("rendering %s %s: %v", r.Name, r.Version, err)
	}
	return out
}

func TestPathFolders(t *testing.T) {
	t.Parallel()
	cache := NewCache(nil)
	src := Source{Path: filepath.Join("testdata", "charts")}

	for _, c := range []result{{"", "0.2.0"}, {"0.1.0", "0.1.0"}, {"~0.1", "0.1.0"}} {
		r, err := cache.Resolve(t.Context(), src, "demo", c.constraint)
		if err != nil || r.Version != c.want || r.AppVersion != c.want+"-app" || r.Digest != "" {
			t.Errorf("Resolve(demo, %q) = %+v, %v; want %s, no digest for a folder", c.constraint, r, err, c.want)
		}
	}
	if _, err := cache.Resolve(t.Context(), src, "demo", "0.3.0"); !errors.As(err, new(*NoVersionError)) {
		t.Errorf("Resolve(demo, 0.3.0) = %v, want a NoVersionError", err)
	}
	if _, err := cache.Resolve(t.Context(), src, "absent", ""); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("Resolve(absent) = %v, want a NotFoundError", err)
	}

	r, err := cache.Load(t.Context(), src, "demo", "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if got := dependencyNames(t, r); !slices.Equal(got, []string{"toolkit"}) {
		t.Errorf("dependencies = %v, want toolkit added from ../toolkit", got)
	}
	cm := render(t, r)["demo/templates/configmap.yaml"]
	for _, want := range []string{"release_group: demo", "application: demo", `version: "0.1.0"`} {
		if !strings.Contains(cm, want) {
			t.Errorf("rendered ConfigMap lacks %q:\n%s", want, cm)
		}
	}
}

func TestPathArchives(t *testing.T) {
	t.Parallel()
	dir := buildTestRepo(t) // archives and an index.yaml, which a path source ignores
	cache := NewCache(nil)
	src := Source{Path: dir}
	r, err := cache.Resolve(t.Context(), src, "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := fileDigest(t, filepath.Join(dir, "demo-0.2.0.tgz")); r.Version != "0.2.0" || r.Digest != want {
		t.Errorf("Resolve(demo) = %+v, want 0.2.0 with digest %s", r, want)
	}
	loaded, err := cache.Load(t.Context(), src, "demo", "0.3.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := dependencyNames(t, loaded); !slices.Equal(got, []string{"toolkit"}) {
		t.Errorf("dependencies = %v, want the bundled toolkit", got)
	}
	render(t, loaded)
}

func TestPathOpenStackHelm(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(sharedCharts, "keystone", "Chart.yaml")); err != nil {
		t.Skip("SKIP: ../shared absent")
	}
	cache := NewCache(nil)
	for _, dir := range []string{sharedCharts, filepath.Join(sharedCharts, "repo")} {
		src := Source{Path: dir}
		r, err := cache.Load(t.Context(), src, "keystone", "~2026.1")
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if r.Version != "2026.1.0" || r.AppVersion != "29.0.0" {
			t.Errorf("%s: loaded keystone %s (%s), want 2026.1.0 (29.0.0)", dir, r.Version, r.AppVersion)
		}
		if got := dependencyNames(t, r); !slices.Equal(got, []string{"helm-toolkit"}) {
			t.Errorf("%s: dependencies = %v, want helm-toolkit", dir, got)
		}
		if out := render(t, r); out["keystone/templates/deployment-api.yaml"] == "" {
			t.Errorf("%s: keystone rendered no API Deployment", dir)
		}
	}
}

func TestLoadFolderErrors(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, dir, name, chartYAML string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "Chart.yaml"), []byte(chartYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const app = "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    repository: file://../lib\n    version: %q\n"
	cases := []struct {
		name, lib, constraint, want string
	}{
		{"missing sibling", "", ">= 0.1.0", "dependency lib (file://../lib)"},
		{"version outside the constraint", "apiVersion: v2\nname: lib\nversion: 0.1.0\n", ">= 1.0.0", "is version 0.1.0, not >= 1.0.0"},
		{"another chart in the folder", "apiVersion: v2\nname: other\nversion: 1.0.0\n", "", "is chart other"},
		{"cycle", "apiVersion: v2\nname: lib\nversion: 1.0.0\ndependencies:\n  - name: app\n    repository: file://../app\n", "", "depends on itself"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, dir, "app", strings.Replace(app, "%q", `"`+c.constraint+`"`, 1))
			if c.lib != "" {
				write(t, dir, "lib", c.lib)
			}
			_, err := NewCache(nil).Load(t.Context(), Source{Path: dir}, "app", "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
