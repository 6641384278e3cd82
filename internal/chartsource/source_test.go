package chartsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSourceValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  Source
		want string // "" for valid
	}{
		{"https", Source{Repository: "https://tarballs.opendev.org/openstack/openstack-helm"}, ""},
		{"oci", Source{Repository: "oci://registry.example.com/openstack-helm", Username: "u", Password: "p"}, ""},
		{"path", Source{Path: "/srv/charts"}, ""},
		{"neither", Source{}, "one of repository and path is required"},
		{"both", Source{Repository: "https://x", Path: "/srv"}, "mutually exclusive"},
		{"scheme", Source{Repository: "ftp://x/charts"}, "scheme must be http, https or oci"},
		{"no host", Source{Repository: "https:///charts"}, "has no host"},
		{"credentials for a path", Source{Path: "/srv", Password: "p"}, "apply to a repository"},
		{"password in the URL", Source{Repository: "ftp://u:hunter2@x"}, "ftp://u:xxxxx@x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.src.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("Validate() = %v shows the password", err)
			}
		})
	}
}

func TestSourceNeverShowsPassword(t *testing.T) {
	t.Parallel()
	src := Source{Repository: "https://user:in-url-secret@charts.example.com", Username: "u", Password: "field-secret"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("source", "src", src)
	js, err := json.Marshal(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src), string(js), logged.String()} {
		if strings.Contains(out, "secret") || !strings.Contains(out, "charts.example.com") {
			t.Errorf("printed source %q: want the host, not a password", out)
		}
	}
}

func TestSourceKey(t *testing.T) {
	t.Parallel()
	base := Source{Repository: "https://charts.example.com/osh", Username: "u", Password: "p"}
	same := base
	same.Repository += "/"
	if base.key() != same.key() {
		t.Error("a trailing slash changed the key")
	}
	other := base
	other.Password = "q"
	if base.key() == other.key() {
		t.Error("other credentials share the key, so one user's fetch would serve another")
	}
	if strings.Contains(base.key(), base.Password) { // hex holds no "p"
		t.Error("the key holds the password")
	}
}

func TestValidateConstraint(t *testing.T) {
	t.Parallel()
	for c, ok := range map[string]bool{"": true, "2026.1.0": true, "~2026.1": true, ">= 2026.1.0, < 2027": true, "latest!": false, ">> 1": false} {
		if err := ValidateConstraint(c); (err == nil) != ok {
			t.Errorf("ValidateConstraint(%q) = %v, want ok=%v", c, err, ok)
		}
	}
}
