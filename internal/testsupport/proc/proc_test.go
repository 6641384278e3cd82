package proc

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestSelfChildAndZombie(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); errors.Is(err, fs.ErrNotExist) {
		t.Skip("no /proc file system: the package reads Linux's /proc")
	} else if err != nil {
		t.Fatal(err)
	}
	self, ok := Get(os.Getpid())
	if !ok || self.Parent != os.Getppid() {
		t.Fatalf("Get(self) = %+v, %v; want parent %d", self, ok, os.Getppid())
	}
	if Exe(os.Getpid()) == "" {
		t.Error("Exe(self) is empty")
	}

	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatalf("starting a child: %v", err)
	}
	pid := child.Process.Pid
	t.Cleanup(func() { _ = child.Process.Kill() })
	if !slices.Contains(Descendants(os.Getpid()), pid) {
		t.Errorf("Descendants(self) misses child %d", pid)
	}
	if !Alive(pid) {
		t.Fatal("a running child is not Alive")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Until Wait reaps it, the child is a zombie, which is not alive.
	for deadline := time.Now().Add(10 * time.Second); Alive(pid) && time.Now().Before(deadline); {
		if info, ok := Get(pid); !ok || info.State == 'Z' {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if Alive(pid) {
		t.Error("a killed, unreaped child is still Alive")
	}
	var exit *exec.ExitError
	if err := child.Wait(); !errors.As(err, &exit) {
		t.Fatalf("waiting for the killed child: %v", err)
	}
	if _, ok := Get(pid); ok {
		t.Error("a reaped child is still listed")
	}
}
