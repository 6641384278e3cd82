// Package testbin provides the binaries the tests and the local management cluster run:
// kube-apiserver, etcd, Terraform and OpenTofu. Nothing prebuilt can be downloaded on the
// machines this project is built on, so each is built from Go modules the first time it is
// needed and cached by version under the user's cache directory:
//
//	$QUMULUS_TESTBIN_DIR, or <os.UserCacheDir()>/terraform-provider-qumulus/testbin
//
// kube-apiserver and etcd are built from the tools/ modules of this repository, so that
// their dependencies never reach the provider's go.mod.
package testbin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Versions of the tools built here. kube-apiserver's and etcd's are pinned in the go.mod of
// their tools/ module; these name the cache entries.
const (
	TerraformVersion = "1.5.7"
	OpenTofuVersion  = "1.12.6"
)

// Log receives one line per build, so that a long first run says what it is doing.
var Log io.Writer = os.Stderr

// KubeAPIServer returns the path of a kube-apiserver binary, building it if needed
// (10–14 minutes on two cores the first time).
func KubeAPIServer(ctx context.Context) (string, error) {
	if p := os.Getenv("TEST_ASSET_KUBE_APISERVER"); p != "" {
		return p, nil
	}
	return toolModuleBinary(ctx, "kube-apiserver", "k8s.io/kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver", kubeVersionFlags)
}

// Etcd returns the path of an etcd binary, building it if needed (about 80 seconds).
func Etcd(ctx context.Context) (string, error) {
	if p := os.Getenv("TEST_ASSET_ETCD"); p != "" {
		return p, nil
	}
	return toolModuleBinary(ctx, "etcd", "go.etcd.io/etcd/server/v3", ".", nil)
}

// Terraform returns the path of a Terraform CLI, honouring TF_ACC_TERRAFORM_PATH, else
// building Terraform TerraformVersion with `go install` (5–9 minutes the first time).
func Terraform(ctx context.Context) (string, error) {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p, nil
	}
	return cached(ctx, "terraform", TerraformVersion, func(ctx context.Context, out string) error {
		gobin, err := os.MkdirTemp(filepath.Dir(out), "gobin-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(gobin) }()
		cmd := goCommand(ctx, "", "install", "-trimpath", "-ldflags=-s -w", "github.com/hashicorp/terraform@v"+TerraformVersion)
		cmd.Env = append(cmd.Env, "GOBIN="+gobin)
		if err := run(cmd); err != nil {
			return err
		}
		return os.Rename(filepath.Join(gobin, "terraform"), out)
	})
}

// OpenTofu returns the path of an OpenTofu CLI (needed for ephemeral resources and
// write-only attributes, which Terraform 1.5 predates), building it if needed. OpenTofu's
// go.mod carries replace directives, so `go install` refuses it: its module is downloaded
// and built in a copy.
func OpenTofu(ctx context.Context) (string, error) {
	if p := os.Getenv("QUMULUS_TEST_TOFU_PATH"); p != "" {
		return p, nil
	}
	return cached(ctx, "tofu", OpenTofuVersion, func(ctx context.Context, out string) error {
		modDir, err := ModuleDir(ctx, "github.com/opentofu/opentofu@v"+OpenTofuVersion)
		if err != nil {
			return err
		}
		src, err := os.MkdirTemp(filepath.Dir(out), "tofu-src-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(src) }()
		if err := copyTree(modDir, src); err != nil {
			return err
		}
		return run(goCommand(ctx, src, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/tofu"))
	})
}

// ModuleDir downloads a module version into the module cache (a no-op when it is there)
// and returns its directory. No go.mod is changed.
func ModuleDir(ctx context.Context, modVersion string) (string, error) {
	cmd := goCommand(ctx, os.TempDir(), "mod", "download", "-json", modVersion)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := run(cmd); err != nil {
		return "", fmt.Errorf("%w: %s", err, stdout.String())
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(stdout.String()), &mod); err != nil {
		return "", fmt.Errorf("go mod download %s: %w (%s)", modVersion, err, stdout.String())
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no module directory: %s", modVersion, mod.Error)
	}
	return mod.Dir, nil
}

// toolModuleBinary builds pkg in the tools/<name> module. The cache entry is named for the
// version of versionModule in that go.mod plus a hash of the module files, so that editing
// the module rebuilds.
func toolModuleBinary(ctx context.Context, name, versionModule, pkg string, ldflags func(version string) string) (string, error) {
	dir, err := toolsDir(name)
	if err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", err
	}
	version := moduleVersion(gomod, versionModule)
	if version == "" {
		return "", fmt.Errorf("tools/%s/go.mod does not require %s", name, versionModule)
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		h.Write(b)
	}
	flags := "-s -w"
	if ldflags != nil {
		flags += " " + ldflags(version)
		h.Write([]byte(flags))
	}
	key := version + "-" + hex.EncodeToString(h.Sum(nil))[:8]
	return cached(ctx, name, key, func(ctx context.Context, out string) error {
		return run(goCommand(ctx, dir, "build", "-trimpath", "-ldflags="+flags, "-o", out, pkg))
	})
}

// kubeVersionFlags stamps the version a release build would report (discovery's /version),
// which a plain `go build` leaves at v0.0.0-master.
func kubeVersionFlags(version string) string {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return ""
	}
	const pkg = "k8s.io/component-base/version"
	return fmt.Sprintf("-X %[1]s.gitVersion=%[2]s -X %[1]s.gitMajor=%[3]s -X %[1]s.gitMinor=%[4]s -X %[1]s.gitTreeState=clean",
		pkg, version, parts[0], parts[1])
}

func moduleVersion(gomod []byte, module string) string {
	re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+(v\S+)`)
	m := re.FindSubmatch(gomod)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// CacheDir is where built binaries are kept.
func CacheDir() (string, error) {
	if d := os.Getenv("QUMULUS_TESTBIN_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set QUMULUS_TESTBIN_DIR): %w", err)
	}
	return filepath.Join(d, "terraform-provider-qumulus", "testbin"), nil
}

// cached returns <cache>/<name>/<version>/<name>, building it under a file lock when it is
// missing, so that test packages running in parallel build it once.
func cached(ctx context.Context, name, version string, build func(ctx context.Context, out string) error) (string, error) {
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, name, version)
	bin := filepath.Join(dir, name)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(bin) {
		return bin, nil
	}
	start := time.Now()
	fmt.Fprintf(Log, "testbin: building %s %s into %s (first run only, %s on two cores)\n", name, version, dir, buildTimes[name])
	tmp := bin + ".tmp"
	_ = os.Remove(tmp)
	stopTicker := progress(name, start)
	err = build(ctx, tmp)
	stopTicker()
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("building %s %s: %w", name, version, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	fmt.Fprintf(Log, "testbin: built %s %s in %s\n", name, version, time.Since(start).Round(time.Second))
	return bin, nil
}

// buildTimes are the measured cold build times, printed so that a first run is not a
// silent wait.
var buildTimes = map[string]string{
	"kube-apiserver": "about 10–14 minutes",
	"etcd":           "about 1–2 minutes",
	"terraform":      "about 5–9 minutes",
	"tofu":           "about 6 minutes",
}

// progressEvery is how often a long build says it is still going.
const progressEvery = time.Minute

// progress prints a line every progressEvery until the returned stop is called.
func progress(name string, start time.Time) (stop func()) {
	done := make(chan struct{})
	ticker := time.NewTicker(progressEvery)
	go func() {
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				fmt.Fprintf(Log, "testbin: still building %s (%s so far)\n", name, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func lock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for another build (%s): %w", path, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// goCommand runs the go tool with a clean module environment: no workspace and no flags
// inherited from the caller's GOFLAGS that could point a tool build at the wrong go.mod.
func goCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, goBinary(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Stdout = Log
	cmd.Stderr = Log
	return cmd
}

// goBinary is the go command of the toolchain running the tests (go test puts its GOROOT
// first in PATH), else the one in PATH.
func goBinary() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); isExecutable(p) {
			return p
		}
	}
	return "go"
}

func run(cmd *exec.Cmd) error {
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return nil
}

// RepoRoot returns the root of this repository's checkout.
func RepoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
		if isRepoRoot(root) {
			return root, nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isRepoRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a checkout of terraform-provider-qumulus")
		}
		dir = parent
	}
}

func isRepoRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && strings.HasPrefix(string(b), "module github.com/qumulus/terraform-provider-qumulus\n")
}

func toolsDir(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "tools", name), nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = in.Close() }()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		return errors.Join(err, out.Close())
	})
}

// Provider builds the provider from this checkout into dir and returns the binary's path,
// named as Terraform expects to find it in a development override.
func Provider(ctx context.Context, dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "terraform-provider-qumulus")
	if err := run(goCommand(ctx, root, "build", "-o", out, ".")); err != nil {
		return "", err
	}
	return out, nil
}
