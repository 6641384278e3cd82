package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: {server: "https://one.example:6443"}
- name: two
  cluster: {server: "https://two.example:6443", insecure-skip-tls-verify: true}
users:
- name: alice
  user: {token: alice-token}
contexts:
- name: one
  context: {cluster: one, user: alice}
- name: two
  context: {cluster: two, user: alice}
current-context: one
`

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for none
	}{
		{"nothing", Config{}, ErrNotConfigured.Error()},
		{"token alone does not say where", Config{Token: "t"}, ErrNotConfigured.Error()},
		{"host", Config{Host: "https://h"}, ""},
		{"kubeconfig file", Config{ConfigPaths: []string{"/k"}}, ""},
		{"in cluster", Config{InCluster: true}, ""},
		{"file and content", Config{ConfigPaths: []string{"/k"}, ConfigContent: "x"}, "both set"},
		{"in cluster and kubeconfig", Config{InCluster: true, ConfigContent: "x"}, "in_cluster"},
		{"context without kubeconfig", Config{Host: "https://h", Context: "c"}, "config_context"},
		{"context user without kubeconfig", Config{Host: "https://h", ContextAuthInfo: "u"}, "config_context_auth_info"},
		{"certificate without key", Config{Host: "https://h", ClientCertificate: "c"}, "client_key"},
		{"exec without command", Config{Host: "https://h", Exec: &ExecConfig{APIVersion: "v1"}}, "exec.command"},
		{"exec without api version", Config{Host: "https://h", Exec: &ExecConfig{Command: "x"}}, "exec.api_version"},
		{"negative qps", Config{Host: "https://h", QPS: -1}, "qps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRESTConfigNeverFallsBackToLocalhost(t *testing.T) {
	t.Parallel()
	_, err := Config{Token: "t"}.RESTConfig()
	if !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
}

func TestRESTConfigFromContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       Config
		wantHost  string
		wantToken string
		insecure  bool
	}{
		{"current context", Config{ConfigContent: twoContexts}, "https://one.example:6443", "alice-token", false},
		{"chosen context", Config{ConfigContent: twoContexts, Context: "two"}, "https://two.example:6443", "alice-token", true},
		{"cluster of another context", Config{ConfigContent: twoContexts, ContextCluster: "two"}, "https://two.example:6443", "alice-token", true},
		{"host and token override the kubeconfig", Config{ConfigContent: twoContexts, Host: "https://three.example", Token: "bob"}, "https://three.example", "bob", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc, err := tt.cfg.RESTConfig()
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != tt.wantHost || rc.BearerToken != tt.wantToken || rc.Insecure != tt.insecure {
				t.Errorf("got host %q token %q insecure %v", rc.Host, rc.BearerToken, rc.Insecure)
			}
			if rc.QPS != DefaultQPS || rc.Burst != DefaultBurst {
				t.Errorf("rate limits = %v/%v, want defaults", rc.QPS, rc.Burst)
			}
		})
	}
}

func TestRESTConfigErrors(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		cfg  Config
		want string
	}{
		"unknown context":  {Config{ConfigContent: twoContexts, Context: "nope"}, "nope"},
		"not a kubeconfig": {Config{ConfigContent: "{{{"}, "config_content is not a valid kubeconfig"},
		"missing file":     {Config{ConfigPaths: []string{"/does/not/exist"}}, "/does/not/exist"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.cfg.RESTConfig()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRESTConfigFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := filepath.Join(dir, "first")
	second := filepath.Join(dir, "second")
	// first only names the current context; second defines it.
	if err := os.WriteFile(first, []byte("apiVersion: v1\nkind: Config\ncurrent-context: two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := Config{ConfigPaths: []string{first, second}, QPS: 7, Burst: 9, UserAgent: "ua"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.Host != "https://two.example:6443" {
		t.Errorf("host = %q: the first file's current-context should win", rc.Host)
	}
	if rc.QPS != 7 || rc.Burst != 9 || rc.UserAgent != "ua" {
		t.Errorf("qps/burst/user agent = %v/%v/%q", rc.QPS, rc.Burst, rc.UserAgent)
	}
}

func TestRESTConfigExplicit(t *testing.T) {
	t.Parallel()
	rc, err := Config{
		Host:                 "https://h.example:6443",
		ClientCertificate:    "CERT",
		ClientKey:            "KEY",
		ClusterCACertificate: "CA",
		TLSServerName:        "api.internal",
		Exec: &ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1",
			Command:    "get-token",
			Args:       []string{"--cluster", "x"},
			Env:        map[string]string{"B": "2", "A": "1"},
		},
	}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if string(rc.CertData) != "CERT" || string(rc.KeyData) != "KEY" || string(rc.CAData) != "CA" || rc.ServerName != "api.internal" {
		t.Errorf("TLS settings not applied: %+v", rc.TLSClientConfig)
	}
	if rc.ExecProvider == nil || rc.ExecProvider.Command != "get-token" || len(rc.ExecProvider.Args) != 2 {
		t.Fatalf("exec provider = %+v", rc.ExecProvider)
	}
	if env := rc.ExecProvider.Env; len(env) != 2 || env[0].Name != "A" || env[1].Name != "B" {
		t.Errorf("exec env = %+v, want sorted A, B", env)
	}
	if rc.ExecProvider.InteractiveMode != "Never" {
		t.Errorf("exec interactive mode = %q, want Never", rc.ExecProvider.InteractiveMode)
	}
}

func TestExpandPath(t *testing.T) {
	// A HOME of its own: the test does not depend on the environment's.
	home := t.TempDir()
	t.Setenv("HOME", home)
	for in, want := range map[string]string{
		"~/.kube/config": filepath.Join(home, ".kube/config"),
		"~":              home,
		"/abs/path":      "/abs/path",
		"rel/~/path":     "rel/~/path",
	} {
		got, err := ExpandPath(in)
		if err != nil || got != want {
			t.Errorf("ExpandPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestExpandPathWithoutHome(t *testing.T) {
	t.Setenv("HOME", "")
	if got, err := ExpandPath("~/.kube/config"); err == nil {
		t.Errorf("ExpandPath(~/.kube/config) without HOME = %q, want an error", got)
	}
	if got, err := ExpandPath("/abs/path"); err != nil || got != "/abs/path" {
		t.Errorf("ExpandPath(/abs/path) without HOME = %q, %v", got, err)
	}
}

func TestConnectionBuildsOnceAndReportsErrors(t *testing.T) {
	t.Parallel()
	conn := NewConnection(Config{Host: "https://h.example"})
	a, err := conn.Clients()
	if err != nil {
		t.Fatal(err)
	}
	b, err := conn.Clients()
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("Clients built twice")
	}
	failed := NewFailedConnection(ErrUnknownAtPlan)
	if _, err := failed.Clients(); !errors.Is(err, ErrUnknownAtPlan) {
		t.Errorf("err = %v", err)
	}
}

func TestInClusterOnlyWhenAskedAndReportedOutsideAPod(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	// Outside a pod, in-cluster credentials must fail loudly, not fall back.
	_, err := Config{InCluster: true}.RESTConfig()
	if err == nil || !strings.Contains(err.Error(), "in_cluster is set") {
		t.Fatalf("err = %v", err)
	}
	// Even inside a pod, nothing configured means nothing: in-cluster is opt-in.
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	if _, err := (Config{}).RESTConfig(); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
}
