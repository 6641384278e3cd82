// Package proc reads the Linux process table (/proc) for the test support that starts and
// stops local processes. On systems without /proc every lookup reports nothing.
package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Info is what /proc/<pid>/stat says of a process.
type Info struct {
	PID    int
	State  byte // R, S, D, Z, ...
	Parent int
}

// Get reads one process; ok is false when it does not exist.
func Get(pid int) (Info, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Info{}, false
	}
	// The command name (field 2) is in parentheses and may hold spaces: parse after it.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 || len(fields[0]) == 0 {
		return Info{}, false
	}
	parent, err := strconv.Atoi(fields[1])
	if err != nil {
		return Info{}, false
	}
	return Info{PID: pid, State: fields[0][0], Parent: parent}, true
}

// All lists every process.
func All() []Info {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Info
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if info, ok := Get(pid); ok {
			out = append(out, info)
		}
	}
	return out
}

// Exe is the path of the process's binary.
func Exe(pid int) string {
	p, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	return p
}

// Alive reports whether pid runs: it exists and is not a zombie (exited, not yet reaped).
func Alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	info, ok := Get(pid)
	return !ok || info.State != 'Z'
}

// Descendants lists the children of pid, their children, and so on.
func Descendants(pid int) []int {
	all := All()
	var out []int
	var walk func(int)
	walk = func(parent int) {
		for _, p := range all {
			if p.Parent == parent {
				out = append(out, p.PID)
				walk(p.PID)
			}
		}
	}
	walk(pid)
	return out
}

// Cmdline is the command line of the process: its binary and arguments.
func Cmdline(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}
