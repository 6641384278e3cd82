package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

// goreleaserConfig mirrors the part of goreleaser v2's configuration schema that
// .goreleaser.yml uses, so that strict decoding fails on a key goreleaser would not know
// (or one this test does not check yet).
type goreleaserConfig struct {
	Version int `json:"version"`
	Before  struct {
		Hooks []string `json:"hooks"`
	} `json:"before"`
	Builds []struct {
		Env          []string `json:"env"`
		ModTimestamp string   `json:"mod_timestamp"`
		Flags        []string `json:"flags"`
		Ldflags      []string `json:"ldflags"`
		Goos         []string `json:"goos"`
		Goarch       []string `json:"goarch"`
		Ignore       []struct {
			Goos   string `json:"goos"`
			Goarch string `json:"goarch"`
		} `json:"ignore"`
		Binary string `json:"binary"`
	} `json:"builds"`
	Archives []struct {
		Formats      []string `json:"formats"`
		NameTemplate string   `json:"name_template"`
	} `json:"archives"`
	Checksum struct {
		ExtraFiles   []extraFile `json:"extra_files"`
		NameTemplate string      `json:"name_template"`
		Algorithm    string      `json:"algorithm"`
	} `json:"checksum"`
	Signs   []sign `json:"signs"`
	Release struct {
		ExtraFiles []extraFile `json:"extra_files"`
	} `json:"release"`
	Changelog struct {
		Disable bool `json:"disable"`
	} `json:"changelog"`
}

type sign struct {
	Artifacts string   `json:"artifacts"`
	Args      []string `json:"args"`
}

type extraFile struct {
	Glob         string `json:"glob"`
	NameTemplate string `json:"name_template"`
}

// The names the Terraform Registry expects of a provider release.
const (
	binaryTemplate   = "{{ .ProjectName }}_v{{ .Version }}"
	archiveTemplate  = "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}"
	checksumTemplate = "{{ .ProjectName }}_{{ .Version }}_SHA256SUMS"
	manifestTemplate = "{{ .ProjectName }}_{{ .Version }}_manifest.json"
	manifestFile     = "terraform-registry-manifest.json"
	versionLdflag    = "-X main.version={{.Version}}"
)

func TestRelease(t *testing.T) {
	t.Run("goreleaser configuration", func(t *testing.T) {
		t.Parallel()
		raw, err := os.ReadFile(".goreleaser.yml")
		if err != nil {
			t.Fatal(err)
		}
		var cfg goreleaserConfig
		if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
			t.Fatalf(".goreleaser.yml: %v", err)
		}
		misspelled := bytes.Replace(raw, []byte("ldflags:"), []byte("ldflag:"), 1)
		if err := yaml.UnmarshalStrict(misspelled, &goreleaserConfig{}); err == nil {
			t.Error("a misspelled key (ldflag) decodes without an error: the decoding is not strict")
		}

		if cfg.Version != 2 {
			t.Errorf("version: %d, want 2 (goreleaser v2)", cfg.Version)
		}
		if len(cfg.Builds) == 0 {
			t.Fatal("no builds")
		}
		for i, b := range cfg.Builds {
			if !slices.Contains(b.Env, "CGO_ENABLED=0") {
				t.Errorf("builds[%d].env %q: want CGO_ENABLED=0 (static binaries)", i, b.Env)
			}
			if !slices.Contains(b.Flags, "-trimpath") {
				t.Errorf("builds[%d].flags %q: want -trimpath", i, b.Flags)
			}
			if !slices.ContainsFunc(b.Ldflags, func(f string) bool { return strings.Contains(f, versionLdflag) }) {
				t.Errorf("builds[%d].ldflags %q: want %s", i, b.Ldflags, versionLdflag)
			}
			if b.Binary != binaryTemplate {
				t.Errorf("builds[%d].binary %q, want %q", i, b.Binary, binaryTemplate)
			}
		}
		if err := stringVar("main.go", "version"); err != nil {
			t.Errorf("the ldflags set main.version, but %v", err)
		}

		if len(cfg.Archives) == 0 {
			t.Error("no archives")
		}
		for i, a := range cfg.Archives {
			if !slices.Equal(a.Formats, []string{"zip"}) || a.NameTemplate != archiveTemplate {
				t.Errorf("archives[%d]: formats %q, name_template %q; want [zip], %q", i, a.Formats, a.NameTemplate, archiveTemplate)
			}
		}

		if cfg.Checksum.NameTemplate != checksumTemplate {
			t.Errorf("checksum.name_template %q, want %q", cfg.Checksum.NameTemplate, checksumTemplate)
		}
		if cfg.Checksum.Algorithm != "" && cfg.Checksum.Algorithm != "sha256" {
			t.Errorf("checksum.algorithm %q, want sha256", cfg.Checksum.Algorithm)
		}
		manifest := extraFile{Glob: manifestFile, NameTemplate: manifestTemplate}
		for what, files := range map[string][]extraFile{"checksum": cfg.Checksum.ExtraFiles, "release": cfg.Release.ExtraFiles} {
			if !slices.Contains(files, manifest) {
				t.Errorf("%s.extra_files %+v: want %+v", what, files, manifest)
			}
		}
		if m, _ := filepath.Glob(manifestFile); len(m) != 1 {
			t.Errorf("the extra_files glob %s matches %q", manifestFile, m)
		}

		signed := slices.ContainsFunc(cfg.Signs, func(s sign) bool {
			user := slices.Index(s.Args, "--local-user")
			return s.Artifacts == "checksum" && user >= 0 && user+1 < len(s.Args) &&
				s.Args[user+1] == "{{ .Env.GPG_FINGERPRINT }}" &&
				slices.Contains(s.Args, "--detach-sign") && slices.Contains(s.Args, "${artifact}")
		})
		if !signed {
			t.Errorf("signs %+v: want the checksum file detach-signed with --local-user {{ .Env.GPG_FINGERPRINT }}", cfg.Signs)
		}
	})

	t.Run("registry manifest", func(t *testing.T) {
		t.Parallel()
		raw, err := os.ReadFile(manifestFile)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Version  int `json:"version"`
			Metadata struct {
				ProtocolVersions []string `json:"protocol_versions"`
			} `json:"metadata"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", manifestFile, err)
		}
		// terraform-plugin-framework serves protocol 6 only.
		if m.Version != 1 || !slices.Equal(m.Metadata.ProtocolVersions, []string{"6.0"}) {
			t.Errorf("%s: version %d, protocol_versions %q; want 1, [6.0]", manifestFile, m.Version, m.Metadata.ProtocolVersions)
		}
	})

	t.Run("version reaches the provider", func(t *testing.T) {
		if os.Getenv("TF_ACC") == "" {
			t.Skip("builds the provider and runs Terraform: set TF_ACC=1 (make testacc)")
		}
		const version = "9.8.7-test"
		dir := t.TempDir()
		bin := filepath.Join(dir, "providers", "terraform-provider-qumulus")
		build := exec.CommandContext(t.Context(), "go", "build", "-ldflags", "-X main.version="+version, "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		tf, err := testbin.Terraform(t.Context())
		if err != nil {
			t.Fatal(err)
		}

		rc := filepath.Join(dir, "cli.tfrc")
		overrides := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n",
			"registry.terraform.io/qumulus/qumulus", filepath.Dir(bin))
		// Nothing listens on port 1: the data source fails, after Configure has run.
		config := `terraform {
  required_providers {
    qumulus = { source = "qumulus/qumulus" }
  }
}

provider "qumulus" {
  host  = "https://127.0.0.1:1"
  token = "x"
}

data "qumulus_management_cluster" "x" {}
`
		work := filepath.Join(dir, "work")
		if err := os.Mkdir(work, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{rc: overrides, filepath.Join(work, "main.tf"): config} {
			if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}

		logFile := filepath.Join(dir, "provider.log")
		plan := exec.CommandContext(t.Context(), tf, "plan", "-input=false", "-no-color")
		plan.Dir = work
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "QUMULUS_") {
				plan.Env = append(plan.Env, kv)
			}
		}
		plan.Env = append(plan.Env, "TF_CLI_CONFIG_FILE="+rc, "TF_LOG_PROVIDER=INFO", "TF_LOG_PATH="+logFile,
			"CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		out, _ := plan.CombinedOutput() // fails: nothing listens on the host

		log, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatalf("no provider log: %v\nterraform plan:\n%s", err, out)
		}
		if !bytes.Contains(log, []byte("configuring the qumulus provider")) ||
			!bytes.Contains(log, []byte("terraform-provider-qumulus/"+version)) {
			t.Errorf("the provider log does not show Configure with user agent terraform-provider-qumulus/%s:\n%s\nterraform plan:\n%s", version, log, out)
		}
	})
}

// stringVar reports whether file declares a package-level string variable name, which
// `go build -ldflags "-X main.name=..."` can set.
func stringVar(file, name string) error {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return err
	}
	if f.Name.Name != "main" {
		return fmt.Errorf("%s is package %s, not main", file, f.Name.Name)
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, n := range vs.Names {
				if n.Name != name {
					continue
				}
				if typ, ok := vs.Type.(*ast.Ident); ok && typ.Name == "string" {
					return nil
				}
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING && vs.Type == nil {
						return nil
					}
				}
				return fmt.Errorf("%s declares %s, but not as a string", file, name)
			}
		}
	}
	return fmt.Errorf("%s declares no package variable %s", file, name)
}

// The plugin loggers are switched off when Terraform will not show provider logs, and left
// alone when the user asks for them or sets a logger's level.
func TestQuietLogsUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"nothing asked", map[string]string{},
			map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_PROVIDER_QUMULUS": "OFF"}},
		{"TF_LOG", map[string]string{"TF_LOG": "trace"}, map[string]string{"TF_LOG": "trace"}},
		{"TF_LOG_PROVIDER", map[string]string{"TF_LOG_PROVIDER": "INFO"}, map[string]string{"TF_LOG_PROVIDER": "INFO"}},
		{"a level the user set stays", map[string]string{"TF_LOG_SDK_FRAMEWORK": "DEBUG"},
			map[string]string{"TF_LOG_SDK": "OFF", "TF_LOG_SDK_FRAMEWORK": "DEBUG", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_PROVIDER_QUMULUS": "OFF"}},
		{"core logs only", map[string]string{"TF_LOG_CORE": "TRACE"},
			map[string]string{"TF_LOG_CORE": "TRACE", "TF_LOG_SDK": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_PROVIDER_QUMULUS": "OFF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(tc.env)
			quietLogsUnlessAsked(func(k string) string { return env[k] }, func(k, v string) error { env[k] = v; return nil })
			if !maps.Equal(env, tc.want) {
				t.Errorf("environment %v, want %v", env, tc.want)
			}
		})
	}
}
