package openstack

import (
	"crypto/rand"
	"maps"
	"testing"
)

func TestRecoverCredentials(t *testing.T) {
	t.Parallel()
	for _, s := range Services() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			enabled := []string{s.Name}
			c, err := Credentials{}.Complete(enabled, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			values := s.Values(Settings{Region: "RegionOne", ClusterDomain: "cluster.local"}, c, nil)
			got := s.RecoverCredentials(values)
			want := Credentials{}
			for _, k := range CredentialKeys(enabled) {
				want[k] = c[k]
			}
			if !maps.Equal(got, want) {
				t.Errorf("recovered %d keys %v, want %d keys %v", len(got), keysOf(got), len(want), keysOf(want))
			}
		})
	}
}

func keysOf(c Credentials) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	return out
}
