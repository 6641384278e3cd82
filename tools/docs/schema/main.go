// Command schema writes the provider's schema the way `terraform providers schema -json`
// does, for `tfplugindocs generate --providers-schema`. It asks OpenTofu: the newest
// Terraform that builds from the module proxy (1.5.7) predates ephemeral resources and
// leaves their schemas out, and tfplugindocs then writes no page for them.
//
//	go run ./schema -tofu PATH -provider DIR -out FILE
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	tofu := flag.String("tofu", "", "path of the OpenTofu binary")
	provider := flag.String("provider", "../..", "directory of the provider's main package")
	out := flag.String("out", "", "file to write the schema JSON to")
	name := flag.String("name", "qumulus", "provider name, as tfplugindocs --provider-name")
	flag.Parse()
	if *tofu == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*tofu, *provider, *out, *name); err != nil {
		fmt.Fprintln(os.Stderr, "schema:", err)
		os.Exit(1)
	}
}

func run(tofu, provider, out, name string) error {
	tmp, err := os.MkdirTemp("", "qumulus-schema-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "terraform-provider-"+name), ".")
	build.Dir = provider
	build.Env = append(os.Environ(), "GOWORK=off")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the provider: %w", err)
	}

	rc := filepath.Join(tmp, "cli.tfrc")
	overrides := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n",
		"registry.opentofu.org/"+name+"/"+name, bin)
	if err := os.WriteFile(rc, []byte(overrides), 0o600); err != nil {
		return err
	}
	config := fmt.Sprintf("terraform {\n  required_providers {\n    %s = { source = %q }\n  }\n}\n", name, name+"/"+name)
	if err := os.WriteFile(filepath.Join(tmp, "main.tf"), []byte(config), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(tofu, "providers", "schema", "-json")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1")
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s providers schema -json: %w", tofu, err)
	}

	// tfplugindocs finds the schema under the provider's short name.
	var schemas struct {
		FormatVersion   string                     `json:"format_version"`
		ProviderSchemas map[string]json.RawMessage `json:"provider_schemas"`
	}
	if err := json.Unmarshal(raw, &schemas); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	renamed := map[string]json.RawMessage{}
	for addr, s := range schemas.ProviderSchemas {
		if strings.HasSuffix(addr, "/"+name+"/"+name) {
			renamed[name] = s
		}
	}
	if len(renamed) == 0 {
		return fmt.Errorf("the schema has no provider %s/%s", name, name)
	}
	schemas.ProviderSchemas = renamed
	b, err := json.MarshalIndent(schemas, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o600)
}
