// Command validate-examples runs `terraform validate` on every directory of examples/ that
// holds .tf files, against the provider built from this checkout, prints one line per
// directory and exits non-zero when one is invalid:
//
//	validate-examples [-examples DIR] [-keep]
//
// Each directory is validated in its own copy of the whole examples tree, so that relative
// module sources keep working. A directory whose required_providers does not name qumulus
// (resource examples leave it out) gets it added; one with an ephemeral block is validated
// with OpenTofu, Terraform 1.5 predating them. Nothing is downloaded: the provider is a
// development override, modules are installed with `terraform get` (`terraform init` asks
// the registry even for overridden providers), and another provider that an example
// configures (kubernetes, helm) is replaced by a stand-in that accepts any value for the
// arguments the example gives it. The example's expressions, its references to this
// provider's attributes among them, are validated; the other provider's argument names are
// not.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

const (
	providerName   = "qumulus"
	addedFile      = "validate_examples_required_providers.tf"
	referencesFile = "validate_examples_provider_references.tf"
	// What every run says while a development override is in effect.
	overrideWarning = "Provider development overrides are in effect"
)

func main() {
	examples := flag.String("examples", "", "the examples directory (default: examples/ of this checkout)")
	keep := flag.Bool("keep", false, "keep the scratch directory (the copies, CLI configurations, stand-ins) and print its path")
	standIn := flag.String("stand-in", "", "serve a stand-in provider with the schema in `FILE` (what the stand-ins run)")
	flag.Parse()
	if *standIn != "" {
		if err := serveStandIn(*standIn); err != nil {
			fmt.Fprintln(os.Stderr, "validate-examples: stand-in:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	invalid, err := run(ctx, *examples, *keep, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate-examples:", err)
		os.Exit(2)
	}
	if invalid > 0 {
		os.Exit(1)
	}
}

// validator holds what every directory's run shares.
type validator struct {
	examples, scratch, provider, self string
	terraform, tofu                   string
	env                               []string
}

// run validates every example directory and returns how many are invalid.
func run(ctx context.Context, examples string, keep bool, out io.Writer) (int, error) {
	start := time.Now()
	if examples == "" {
		root, err := testbin.RepoRoot()
		if err != nil {
			return 0, err
		}
		examples = filepath.Join(root, "examples")
	}
	examples, err := filepath.Abs(examples)
	if err != nil {
		return 0, err
	}
	dirs, err := exampleDirs(examples)
	if err != nil {
		return 0, err
	}
	if len(dirs) == 0 {
		return 0, fmt.Errorf("no directory with .tf files under %s", examples)
	}
	v := &validator{examples: examples}
	if v.scratch, err = os.MkdirTemp("", "validate-examples-"); err != nil {
		return 0, err
	}
	if keep {
		fmt.Fprintln(out, "scratch directory:", v.scratch)
	} else {
		defer func() { _ = os.RemoveAll(v.scratch) }()
	}
	if v.self, err = os.Executable(); err != nil {
		return 0, err
	}
	v.provider = filepath.Join(v.scratch, "provider")
	if err := os.MkdirAll(v.provider, 0o755); err != nil {
		return 0, err
	}
	if _, err := testbin.Provider(ctx, v.provider); err != nil {
		return 0, fmt.Errorf("building the provider: %w", err)
	}
	if v.terraform, err = testbin.Terraform(ctx); err != nil {
		return 0, err
	}
	// The user's own CLI settings (a TF_CLI_CONFIG_FILE, TF_LOG, workspace) stay out.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "TF_") && !strings.HasPrefix(name, "QUMULUS_") {
			v.env = append(v.env, kv)
		}
	}
	v.env = append(v.env, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")

	width := 0
	for _, d := range dirs {
		width = max(width, len(d))
	}
	base := filepath.Base(examples)
	invalid := 0
	for i, dir := range dirs {
		r, err := v.validate(ctx, i, dir)
		if err != nil {
			return invalid, fmt.Errorf("%s: %w", path.Join(base, dir), err)
		}
		status := "ok  "
		if len(r.problems) > 0 {
			status = "FAIL"
			invalid++
		}
		fmt.Fprintf(out, "%s  %-*s  %s\n", status, width+len(base)+1, path.Join(base, dir), strings.Join(r.notes, "; "))
		for _, p := range r.problems {
			fmt.Fprintf(out, "        %s\n", p)
		}
		for _, w := range r.warnings {
			fmt.Fprintf(out, "        %s\n", w)
		}
	}
	fmt.Fprintf(out, "examples: %d valid, %d invalid (%s)\n", len(dirs)-invalid, invalid, time.Since(start).Round(100*time.Millisecond))
	return invalid, nil
}

// exampleDirs lists, slash-separated and relative to examples, every directory that holds
// .tf files.
func exampleDirs(examples string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(examples, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != examples && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || filepath.Ext(p) != ".tf" {
			return nil
		}
		rel, err := filepath.Rel(examples, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !slices.Contains(dirs, rel) {
			dirs = append(dirs, rel)
		}
		return nil
	})
	slices.Sort(dirs)
	return dirs, err
}

type result struct {
	notes, problems, warnings []string
}

func (v *validator) validate(ctx context.Context, i int, dir string) (result, error) {
	var r result
	work := filepath.Join(v.scratch, fmt.Sprintf("%02d", i))
	tree := filepath.Join(work, filepath.Base(v.examples))
	if err := copyTree(v.examples, tree); err != nil {
		return r, err
	}
	wd := filepath.Join(tree, filepath.FromSlash(dir))
	cfg, err := readModule(wd)
	if err != nil {
		r.problems = append(r.problems, "reading the configuration: "+err.Error())
		return r, nil //nolint:nilerr // an example that cannot be read is invalid, the run goes on
	}

	cli, cliName := v.terraform, "terraform"
	if cfg.has("ephemeral") {
		if v.tofu == "" {
			if v.tofu, err = testbin.OpenTofu(ctx); err != nil {
				return r, err
			}
		}
		cli, cliName = v.tofu, "tofu (ephemeral resources)"
	}
	r.notes = append(r.notes, cliName)

	if added, err := cfg.requireProvider(wd); err != nil {
		return r, err
	} else if added {
		r.notes = append(r.notes, "required_providers added")
	}

	overrides := map[string]string{"qumulus/qumulus": v.provider}
	standIns, err := cfg.standIns()
	if err != nil {
		return r, err
	}
	var names []string
	for _, s := range standIns {
		d := filepath.Join(work, "stand-ins", strings.ReplaceAll(s.Source, "/", "_"))
		if err := v.writeStandIn(d, s); err != nil {
			return r, err
		}
		overrides[s.Source] = d
		names = append(names, s.Source)
	}
	if len(names) > 0 {
		r.notes = append(r.notes, "stand-in for "+strings.Join(names, ", "))
	}
	origins, err := cfg.writeProviderReferences(wd)
	if err != nil {
		return r, err
	}
	rc := filepath.Join(work, "cli.tfrc")
	if err := os.WriteFile(rc, cliConfig(overrides), 0o600); err != nil {
		return r, err
	}
	env := append(slices.Clip(v.env), "TF_CLI_CONFIG_FILE="+rc)

	// Local modules are installed by get, which leaves providers alone.
	if stdout, stderr, err := runCLI(ctx, cli, wd, env, "get", "-no-color"); err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s get: %v", filepath.Base(cli), err))
		r.problems = append(r.problems, indentLines(stdout, stderr)...)
		return r, nil
	}
	stdout, stderr, err := runCLI(ctx, cli, wd, env, "validate", "-json", "-no-color")
	var res validateOutput
	if jerr := json.Unmarshal(stdout, &res); jerr != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s validate: %v, and its output is not JSON: %v", filepath.Base(cli), err, jerr))
		r.problems = append(r.problems, indentLines(stdout, stderr)...)
		return r, nil
	}
	for _, d := range res.Diagnostics {
		if d.Range != nil && d.Range.Filename == referencesFile {
			d.Range.Filename = origins.at(d.Range.Start.Line)
			d.Range.Start.Line = 0
		}
	}
	slices.SortStableFunc(res.Diagnostics, func(a, b diagnostic) int {
		return cmp.Or(cmp.Compare(a.file(), b.file()), cmp.Compare(a.line(), b.line()))
	})
	for _, d := range res.Diagnostics {
		if d.Summary == overrideWarning {
			continue
		}
		if d.Severity == "error" {
			r.problems = append(r.problems, d.String())
		} else {
			r.warnings = append(r.warnings, d.String())
		}
	}
	if (!res.Valid || err != nil) && len(r.problems) == 0 {
		r.problems = append(r.problems, fmt.Sprintf("%s validate: invalid (%v) without an error diagnostic", filepath.Base(cli), err))
	}
	return r, nil
}

type validateOutput struct {
	Valid       bool         `json:"valid"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

type diagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Range    *struct {
		Filename string `json:"filename"`
		Start    struct {
			Line int `json:"line"`
		} `json:"start"`
	} `json:"range"`
}

func (d diagnostic) file() string {
	if d.Range == nil {
		return ""
	}
	return d.Range.Filename
}

func (d diagnostic) line() int {
	if d.Range == nil {
		return 0
	}
	return d.Range.Start.Line
}

func (d diagnostic) String() string {
	s := d.Severity + ": " + d.Summary
	if d.Detail != "" {
		s += ": " + strings.Join(strings.Fields(d.Detail), " ")
	}
	switch {
	case d.Range != nil && d.Range.Start.Line > 0:
		s = fmt.Sprintf("%s:%d: %s", d.Range.Filename, d.Range.Start.Line, s)
	case d.Range != nil:
		s = d.Range.Filename + ": " + s
	}
	return s
}

func runCLI(ctx context.Context, bin, dir string, env []string, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	stdout, err = cmd.Output()
	return stdout, errBuf.Bytes(), err
}

func indentLines(outputs ...[]byte) []string {
	var lines []string
	for _, out := range outputs {
		if text := strings.TrimSpace(string(out)); text != "" {
			for l := range strings.SplitSeq(text, "\n") {
				lines = append(lines, "  "+l)
			}
		}
	}
	return lines
}

// cliConfig makes a CLI configuration with development overrides for the sources
// (namespace/type), under both registries' hostnames: OpenTofu resolves "ns/type" to
// registry.opentofu.org.
func cliConfig(overrides map[string]string) []byte {
	var b strings.Builder
	b.WriteString("provider_installation {\n  dev_overrides {\n")
	for _, src := range slices.Sorted(maps.Keys(overrides)) {
		addrs := []string{src}
		if strings.Count(src, "/") == 1 {
			addrs = []string{"registry.terraform.io/" + src, "registry.opentofu.org/" + src}
		}
		for _, a := range addrs {
			fmt.Fprintf(&b, "    %q = %q\n", a, overrides[src])
		}
	}
	b.WriteString("  }\n  direct {}\n}\n")
	return []byte(b.String())
}

// module is the top-level blocks of one directory's .tf files.
type module struct {
	files  map[string][]byte
	blocks []fileBlock
}

type fileBlock struct {
	file string
	*block
}

func readModule(dir string) (*module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	m := &module{files: map[string][]byte{}}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		f, err := parseHCL(filepath.Base(p), src)
		if err != nil {
			return nil, err
		}
		m.files[p] = src
		for _, b := range f.Blocks {
			m.blocks = append(m.blocks, fileBlock{p, b})
		}
	}
	return m, nil
}

func (m *module) has(blockType string) bool {
	return slices.ContainsFunc(m.blocks, func(b fileBlock) bool { return b.Type == blockType })
}

// requiredProviders returns the module's required_providers blocks.
func (m *module) requiredProviders() []fileBlock {
	var rps []fileBlock
	for _, b := range m.blocks {
		if b.Type != "terraform" {
			continue
		}
		for _, c := range b.Blocks {
			if c.Type == "required_providers" {
				rps = append(rps, fileBlock{b.file, c})
			}
		}
	}
	return rps
}

// requireProvider makes the module require qumulus/qumulus when it does not name qumulus,
// so that Terraform does not look for hashicorp/qumulus: in the module's required_providers
// block if it has one (a module may have only one), else in a file of its own.
func (m *module) requireProvider(dir string) (bool, error) {
	rps := m.requiredProviders()
	for _, rp := range rps {
		if _, ok := rp.Args[providerName]; ok {
			return false, nil
		}
	}
	entry := fmt.Sprintf("\n    %s = { source = %q }\n", providerName, "qumulus/qumulus")
	if len(rps) > 0 {
		rp := rps[0]
		src := m.files[rp.file]
		edited := slices.Concat(src[:rp.Open], []byte(entry), src[rp.Open:])
		return true, os.WriteFile(rp.file, edited, 0o644)
	}
	content := "terraform {\n  required_providers {" + entry + "  }\n}\n"
	return true, os.WriteFile(filepath.Join(dir, addedFile), []byte(content), 0o644)
}

// origins maps the lines of the references file to the provider arguments they copy.
type origins []struct {
	first, last int
	origin      string
}

func (o origins) at(line int) string {
	for _, r := range o {
		if line >= r.first && line <= r.last {
			return r.origin
		}
	}
	return referencesFile
}

// writeProviderReferences copies the arguments of the module's provider blocks into
// locals, in a file of their own: Terraform checks the references of locals against the
// schemas of what they refer to (data.qumulus_kubeconfig.x.host), but not those of provider
// blocks. try() keeps that check and drops what a validate of the provider block does not
// report either, such as file() of a file the example only mentions.
func (m *module) writeProviderReferences(dir string) (origins, error) {
	var o origins
	var b strings.Builder
	b.WriteString("locals {\n")
	line := 2
	var add func(file, where string, blk *block)
	add = func(file, where string, blk *block) {
		for _, name := range slices.Sorted(maps.Keys(blk.Args)) {
			if name == "alias" || name == "version" {
				continue
			}
			expr := blk.Args[name]
			// The newline before ", null)" ends a heredoc.
			fmt.Fprintf(&b, "  validate_examples_%d = try(%s\n  , null)\n", len(o), expr)
			n := strings.Count(expr, "\n") + 1
			o = append(o, struct {
				first, last int
				origin      string
			}{line, line + n, fmt.Sprintf("%s:%d (%s %s)", filepath.Base(file), blk.Lines[name], where, name)})
			line += n + 1
		}
		for _, c := range blk.Blocks {
			add(file, where+" "+c.Type, c)
		}
	}
	for _, blk := range m.blocks {
		if blk.Type == "provider" && len(blk.Labels) == 1 {
			add(blk.file, fmt.Sprintf("provider %q", blk.Labels[0]), blk.block)
		}
	}
	if len(o) == 0 {
		return nil, nil
	}
	b.WriteString("}\n")
	return o, os.WriteFile(filepath.Join(dir, referencesFile), []byte(b.String()), 0o644)
}

var sourceArg = regexp.MustCompile(`\bsource\s*=\s*"([^"]+)"`)

// standIns returns a stand-in for each other provider that the module configures, with the
// arguments and nested blocks of all its provider blocks.
func (m *module) standIns() ([]*standInSchema, error) {
	sources := map[string]string{}
	for _, rp := range m.requiredProviders() {
		for name, expr := range rp.Args {
			if s := sourceArg.FindStringSubmatch(expr); s != nil {
				sources[name] = s[1]
			}
		}
	}
	bySource := map[string]*standInSchema{}
	var order []string
	for _, b := range m.blocks {
		if b.Type != "provider" || len(b.Labels) != 1 || b.Labels[0] == providerName {
			continue
		}
		name := b.Labels[0]
		src, ok := sources[name]
		if !ok {
			src = "hashicorp/" + name
		}
		src = strings.ToLower(strings.TrimPrefix(src, "registry.terraform.io/"))
		if strings.Count(src, "/") > 2 || src == "qumulus/qumulus" {
			return nil, fmt.Errorf("provider %q: unexpected source %q", name, src)
		}
		s := bySource[src]
		if s == nil {
			s = &standInSchema{Source: src}
			bySource[src] = s
			order = append(order, src)
		}
		s.merge(b.block, true)
	}
	var out []*standInSchema
	for _, src := range order {
		out = append(out, bySource[src])
	}
	return out, nil
}

// writeStandIn writes the stand-in's schema and the executable Terraform runs for it, which
// runs this program again in stand-in mode.
func (v *validator) writeStandIn(dir string, s *standInSchema) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	schemaFile := filepath.Join(dir, "schema.json")
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(schemaFile, b, 0o644); err != nil {
		return err
	}
	typ := s.Source[strings.LastIndex(s.Source, "/")+1:]
	script := fmt.Sprintf("#!/bin/sh\nexec %s -stand-in %s\n", shellQuote(v.self), shellQuote(schemaFile))
	return os.WriteFile(filepath.Join(dir, "terraform-provider-"+typ), []byte(script), 0o755)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".terraform":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
