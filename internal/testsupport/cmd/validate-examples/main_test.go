package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

const tricky = `# a comment with { and "
terraform {
  required_providers {
    helm = { source = "hashicorp/helm", version = "~> 3.0" } // trailing }
  }
}

provider "kubernetes" {
  host = "https://${data.qumulus_kubeconfig.prod.host}:${lookup({ a = "}" }, "a")}" /* } */
  exec {
    command = "x"
  }
  alias = "other"
}

provider "helm" { kubernetes = { host = "h" } }

resource "qumulus_worker_pool" "gpu" {
  files = [{
    content = <<-EOT
      }
      [plugins."io.containerd.grpc.v1.cri".containerd]
    EOT
  }]
  count = 1
}
`

func TestParseHCL(t *testing.T) {
	t.Parallel()
	f, err := parseHCL("main.tf", []byte(tricky))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range f.Blocks {
		got = append(got, b.Type+" "+strings.Join(b.Labels, " "))
	}
	want := []string{"terraform ", "provider kubernetes", "provider helm", "resource qumulus_worker_pool gpu"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("blocks: got %q, want %q", got, want)
	}
	rp := f.Blocks[0].Blocks[0]
	if rp.Type != "required_providers" || rp.Args["helm"] != `{ source = "hashicorp/helm", version = "~> 3.0" }` {
		t.Errorf("required_providers: %+v", rp)
	}
	if !strings.HasSuffix(tricky[:rp.Open], "required_providers {") {
		t.Errorf("required_providers opens at %d: %q", rp.Open, tricky[:rp.Open])
	}
	k8s := f.Blocks[1]
	if k8s.Lines["host"] != 9 || k8s.Args["host"] != `"https://${data.qumulus_kubeconfig.prod.host}:${lookup({ a = "}" }, "a")}"` ||
		k8s.Args["alias"] != `"other"` || len(k8s.Blocks) != 1 || k8s.Blocks[0].Args["command"] != `"x"` || k8s.Blocks[0].Lines["command"] != 11 {
		t.Errorf("provider kubernetes: %+v", k8s)
	}
	if got := f.Blocks[2].Args["kubernetes"]; got != `{ host = "h" }` {
		t.Errorf("one-line block: kubernetes = %q", got)
	}
	// writeProviderReferences relies on a heredoc's text ending with its marker.
	if pool := f.Blocks[3]; pool.Args["count"] != "1" || !strings.HasSuffix(pool.Args["files"], "EOT\n  }]") {
		t.Errorf("heredoc: %+v", pool.Args)
	}
}

// A syntax error names the file and the line, which validate-examples reports.
func TestParseHCL_errors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"provider \"x\" {\n":          "main.tf:1,",
		"a = 1\n}\n":                  "main.tf:2,",
		"a = 1\nb = \"unterminated\n": "main.tf:2,",
	} {
		if _, err := parseHCL("main.tf", []byte(src)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: got %v, want an error starting with %q", src, err, want)
		}
	}
}

// Every example must be readable here, or validate-examples reports it as invalid.
func TestParseHCL_examples(t *testing.T) {
	t.Parallel()
	root, err := testbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := exampleDirs(filepath.Join(root, "examples"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("example directories: %v %v", dirs, err)
	}
	for _, d := range dirs {
		if _, err := readModule(filepath.Join(root, "examples", d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

func TestRequireProvider(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		src       string
		added     bool
		wantFile  string
		wantMatch string
	}{
		"named":    {src: "terraform {\n  required_providers {\n    qumulus = { source = \"qumulus/qumulus\" }\n  }\n}\n"},
		"none":     {src: "resource \"qumulus_tenant\" \"a\" {}\n", added: true, wantFile: addedFile, wantMatch: `qumulus = { source = "qumulus/qumulus" }`},
		"inserted": {src: "terraform {\n  required_providers {\n    helm = { source = \"hashicorp/helm\" }\n  }\n}\n", added: true, wantFile: "main.tf", wantMatch: "required_providers {\n    qumulus = { source = \"qumulus/qumulus\" }\n\n    helm"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := readModule(dir)
			if err != nil {
				t.Fatal(err)
			}
			added, err := m.requireProvider(dir)
			if err != nil || added != tc.added {
				t.Fatalf("added %v, %v; want %v", added, err, tc.added)
			}
			if !added {
				return
			}
			b, err := os.ReadFile(filepath.Join(dir, tc.wantFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.wantMatch) {
				t.Errorf("%s:\n%s\nwant it to contain %q", tc.wantFile, b, tc.wantMatch)
			}
			if _, err := readModule(dir); err != nil {
				t.Errorf("after the edit: %v", err)
			}
		})
	}
}

func TestStandInsAndReferences(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tricky), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := readModule(dir)
	if err != nil {
		t.Fatal(err)
	}
	standIns, err := m.standIns()
	if err != nil {
		t.Fatal(err)
	}
	if len(standIns) != 2 {
		t.Fatalf("stand-ins: %+v", standIns)
	}
	k8s, helm := standIns[0], standIns[1]
	if k8s.Source != "hashicorp/kubernetes" || !reflect.DeepEqual(k8s.Attributes, []string{"host"}) || !reflect.DeepEqual(k8s.Blocks["exec"].Attributes, []string{"command"}) {
		t.Errorf("kubernetes stand-in: %+v", k8s)
	}
	if helm.Source != "hashicorp/helm" || !reflect.DeepEqual(helm.Attributes, []string{"kubernetes"}) {
		t.Errorf("helm stand-in: %+v", helm)
	}

	o, err := m.writeProviderReferences(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.at(2); got != `main.tf:9 (provider "kubernetes" host)` {
		t.Errorf("origin of line 2: %q", got)
	}
	if got := o.at(4); got != `main.tf:11 (provider "kubernetes" exec command)` {
		t.Errorf("origin of line 4: %q", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, referencesFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "other") {
		t.Errorf("alias copied:\n%s", b)
	}
	if _, err := parseHCL(referencesFile, b); err != nil {
		t.Errorf("%s does not parse: %v\n%s", referencesFile, err, b)
	}
}

func TestCLIConfig(t *testing.T) {
	t.Parallel()
	got := string(cliConfig(map[string]string{"qumulus/qumulus": "/p", "example.com/a/b": "/s"}))
	for _, want := range []string{
		`"example.com/a/b" = "/s"`,
		`"registry.terraform.io/qumulus/qumulus" = "/p"`,
		`"registry.opentofu.org/qumulus/qumulus" = "/p"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("CLI configuration lacks %s:\n%s", want, got)
		}
	}
}
