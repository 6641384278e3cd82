package proc

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestSelfChildAndZombie(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
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
		t.Skip(err)
	}
	pid := child.Process.Pid
	if !slices.Contains(Descendants(os.Getpid()), pid) {
		t.Errorf("Descendants(self) misses child %d", pid)
	}
	if !Alive(pid) {
		t.Fatal("a running child is not Alive")
	}
	_ = child.Process.Kill()
	// Until Wait reaps it, the child is a zombie, which is not alive.
	for Alive(pid) {
		if info, ok := Get(pid); !ok || info.State == 'Z' {
			break
		}
	}
	if Alive(pid) {
		t.Error("a killed, unreaped child is still Alive")
	}
	_ = child.Wait()
	if _, ok := Get(pid); ok {
		t.Error("a reaped child is still listed")
	}
}
