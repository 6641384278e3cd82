package openstack

import (
	"crypto/rand"
	"reflect"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	t.Parallel()
	base := map[string]any{"a": map[string]any{"b": 1, "c": []any{1, 2}, "d": "x"}, "e": "keep"}
	over := map[string]any{"a": map[string]any{"b": 2, "c": []any{3}, "d": nil}, "f": map[string]any{"g": true}}
	got := Merge(base, over)
	want := map[string]any{"a": map[string]any{"b": 2, "c": []any{3}, "d": nil}, "e": "keep", "f": map[string]any{"g": true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
	if base["a"].(map[string]any)["b"] != 1 || base["a"].(map[string]any)["d"] != "x" {
		t.Errorf("Merge changed its input: %v", base)
	}
	if !reflect.DeepEqual(Merge(), map[string]any{}) {
		t.Error("Merge of nothing is not empty")
	}
}

func TestReleaseValues(t *testing.T) {
	t.Parallel()
	c, err := Credentials{}.Complete(DefaultServices(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keystone, _ := Lookup("keystone")
	two := int64(2)
	overrides := [][]byte{
		[]byte("images:\n  tags:\n    keystone_api: old\npod:\n  replicas:\n    api: 5\n"),
		[]byte("images:\n  tags:\n    keystone_api: \"2026.1\"\n"),
	}
	user := [][]byte{[]byte("conf:\n  keystone:\n    DEFAULT:\n      debug: true\n"), []byte(""), []byte("pod:\n  replicas:\n    api: 3\n")}
	v, err := keystone.ReleaseValues(Settings{Region: "RegionOne"}, c, &two, overrides, user)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"images.tags.keystone_api":                     "2026.1",   // the later override file wins
		"pod.replicas.api":                             float64(3), // the user's values win over replicas
		"conf.keystone.DEFAULT.debug":                  true,
		"endpoints.identity.auth.admin.password":       c["identity/admin"],
		"endpoints.identity.auth.admin.region_name":    "RegionOne",
		"endpoints.oslo_db.auth.keystone.password":     c["oslo_db/keystone"],
		"endpoints.oslo_messaging.auth.admin.password": c["oslo_messaging/rabbitmq"],
	} {
		if got := at(v, path); got != want {
			t.Errorf("%s = %v (%T), want %v", path, got, got, want)
		}
	}
	if _, err := keystone.ReleaseValues(Settings{}, c, nil, nil, [][]byte{[]byte("- a list")}); err == nil || !strings.Contains(err.Error(), "not a map") {
		t.Errorf("a list document: %v", err)
	}
	if _, err := keystone.ReleaseValues(Settings{}, c, nil, [][]byte{[]byte("a: [")}, nil); err == nil || !strings.Contains(err.Error(), "override file") {
		t.Errorf("a broken override file: %v", err)
	}
}
