package testbin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleVersion(t *testing.T) {
	t.Parallel()
	gomod := []byte("module x\n\nrequire (\n\tk8s.io/kubernetes v1.37.2\n\tk8s.io/kubernetes-extra v9.9.9\n)\n\nrequire go.etcd.io/etcd/server/v3 v3.6.16\n")
	for mod, want := range map[string]string{
		"k8s.io/kubernetes":         "v1.37.2",
		"go.etcd.io/etcd/server/v3": "v3.6.16",
		"k8s.io/api":                "",
	} {
		if got := moduleVersion(gomod, mod); got != want {
			t.Errorf("moduleVersion(%s) = %q, want %q", mod, got, want)
		}
	}
}

func TestKubeVersionFlags(t *testing.T) {
	t.Parallel()
	got := kubeVersionFlags("v1.37.2")
	for _, want := range []string{"version.gitVersion=v1.37.2", "version.gitMajor=1", "version.gitMinor=37"} {
		if !strings.Contains(got, want) {
			t.Errorf("kubeVersionFlags = %q, missing %q", got, want)
		}
	}
}

func TestCachedBuildsOnceAndReuses(t *testing.T) {
	t.Setenv("QUMULUS_TESTBIN_DIR", t.TempDir())
	builds := 0
	build := func(_ context.Context, out string) error {
		builds++
		return os.WriteFile(out, []byte("#!/bin/sh\n"), 0o755)
	}
	first, err := cached(context.Background(), "tool", "v1", build)
	if err != nil {
		t.Fatal(err)
	}
	second, err := cached(context.Background(), "tool", "v1", build)
	if err != nil {
		t.Fatal(err)
	}
	if first != second || builds != 1 {
		t.Errorf("paths %q, %q after %d builds; want one build reused", first, second, builds)
	}
	if filepath.Base(filepath.Dir(first)) != "v1" {
		t.Errorf("cache entry %q is not keyed by version", first)
	}
}

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "kube-apiserver", "go.mod")); err != nil {
		t.Errorf("RepoRoot() = %s has no tools/kube-apiserver module: %v", root, err)
	}
}
