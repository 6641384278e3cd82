package acctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/testbin"
)

// UseOpenTofu makes the test's resource.Test runs use OpenTofu (built once and cached):
// ephemeral resources and write-only attributes need it, the default Terraform predates them.
func UseOpenTofu(t *testing.T) {
	t.Helper()
	Cluster(t)
	tofu, err := testbin.OpenTofu(t.Context())
	if err != nil {
		t.Fatalf("OpenTofu: %v", err)
	}
	t.Setenv("TF_ACC_TERRAFORM_PATH", tofu)
	if os.Getenv("TF_ACC_PROVIDER_NAMESPACE") == "" {
		// OpenTofu refuses the framework's default provider namespace "-".
		t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "qumulus")
	}
}

var (
	providerOnce sync.Once
	providerDir  string
	providerErr  error
)

// CLI runs Terraform or OpenTofu the way a user does, outside the test framework: the
// provider is the binary built from this checkout (a development override), each provider
// configuration gets its own provider process, and what the user would see is kept: the
// command output, the state file and a TF_LOG=trace log.
type CLI struct {
	t   *testing.T
	bin string
	env []string
	// Dir is the working directory (main.tf, terraform.tfstate); Log the trace log.
	Dir, Log string
}

// NewCLI prepares a working directory for Terraform (TerraformVersion) or, with tofu,
// OpenTofu.
func NewCLI(t *testing.T, tofu bool) *CLI {
	t.Helper()
	Cluster(t)
	get := testbin.Terraform
	if tofu {
		get = testbin.OpenTofu
	}
	bin, err := get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	providerOnce.Do(func() {
		providerDir = filepath.Join(scratch, "provider")
		if providerErr = os.MkdirAll(providerDir, 0o755); providerErr == nil {
			_, providerErr = testbin.Provider(context.Background(), providerDir)
		}
	})
	if providerErr != nil {
		t.Fatalf("building the provider: %v", providerErr)
	}
	dir := t.TempDir()
	rc := filepath.Join(dir, "cli.tfrc")
	overrides := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/qumulus/qumulus" = %q
    "registry.opentofu.org/qumulus/qumulus" = %q
  }
  direct {}
}
`, providerDir, providerDir)
	if err := os.WriteFile(rc, []byte(overrides), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &CLI{t: t, bin: bin, Dir: filepath.Join(dir, "work"), Log: filepath.Join(dir, "trace.log")}
	if err := os.Mkdir(c.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TF_") || strings.HasPrefix(name, "QUMULUS_") {
			continue
		}
		c.env = append(c.env, kv)
	}
	c.env = append(c.env, "TF_CLI_CONFIG_FILE="+rc, "TF_LOG=trace", "TF_LOG_PATH="+c.Log,
		"TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
	return c
}

// Write replaces main.tf.
func (c *CLI) Write(config string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.Dir, "main.tf"), []byte(config), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// Run runs the CLI with args (and -no-color) and returns its output, stdout and stderr
// together. It works in the test's cleanups too (a destroy there): it is not bound to
// t.Context(), which the testing package cancels before the cleanups run; the test
// binary's -timeout still bounds it.
func (c *CLI) Run(args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, "-no-color")...)
	cmd.Dir = c.Dir
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test when the command fails.
func (c *CLI) MustRun(args ...string) string {
	c.t.Helper()
	out, err := c.Run(args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", filepath.Base(c.bin), strings.Join(args, " "), err, out)
	}
	return out
}

// State is the local state file.
func (c *CLI) State() []byte {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Dir, "terraform.tfstate"))
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// Trace is the TF_LOG=trace log of every command run so far.
func (c *CLI) Trace() []byte {
	c.t.Helper()
	b, err := os.ReadFile(c.Log)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// Process is a CLI command started by Start.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// Start starts the CLI with args (and -no-color) without waiting for it, as a user's
// terminal would: Interrupt then sends it what Ctrl-C does.
func (c *CLI) Start(args ...string) *Process {
	c.t.Helper()
	cmd := exec.CommandContext(c.t.Context(), c.bin, append(args, "-no-color")...)
	cmd.Dir = c.Dir
	cmd.Env = c.env
	p := &Process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p
}

// Interrupt sends the process os.Interrupt (SIGINT), as Ctrl-C does.
func (p *Process) Interrupt() error {
	return p.cmd.Process.Signal(os.Interrupt)
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits until the process exits and returns its output and error, as Run does.
func (p *Process) Wait() (string, error) {
	<-p.done
	return p.out.String(), p.err
}

// Output is what the process has written so far.
func (p *Process) Output() string { return p.out.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
