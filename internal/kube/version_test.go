package kube

import "testing"

func TestNormalizeVersion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"v1.35.0": "v1.35.0", "1.35.0": "v1.35.0", " 1.36.2 ": "v1.36.2"} {
		got, err := NormalizeVersion(in)
		if err != nil || got != want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.35", "v1", "latest", "v1.35.0.1", "vv1.35.0"} {
		if _, err := NormalizeVersion(bad); err == nil {
			t.Errorf("NormalizeVersion(%q) accepted", bad)
		}
	}
	if !SameVersion("v1.35.0", "1.35.0") || SameVersion("v1.35.0", "v1.35.1") {
		t.Error("SameVersion")
	}
}
