package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/proc"
)

// providerBinary is the name Terraform runs the provider under (a development override).
const providerBinary = "terraform-provider-qumulus"

// sampleEvery is how often /proc is read while Terraform runs.
const sampleEvery = 10 * time.Millisecond

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// usage is what the provider processes of one Terraform command used. Terraform may
// start the provider more than once in a command (for its schema, then for the
// operation): CPU is their sum, PeakRSS the largest.
type usage struct {
	CPU       time.Duration
	PeakRSS   int64 // bytes (VmHWM)
	Processes int
}

// sampleProviders reads, every interval until stop closes, the CPU time and peak RSS of
// every provider process that root starts, and sends the last values read. A process's
// last reading is at most one interval before it exits.
func sampleProviders(root int, every time.Duration, stop <-chan struct{}) <-chan usage {
	out := make(chan usage, 1)
	go func() {
		type last struct{ ticks, hwm int64 }
		seen := map[int]*last{}
		tick := time.NewTicker(every)
		defer tick.Stop()
		read := func() {
			for _, pid := range childrenOf(root) {
				if _, ok := seen[pid]; !ok {
					// Between fork and exec the child still runs Terraform's binary:
					// look again at the next tick rather than decide now.
					if filepath.Base(proc.Exe(pid)) != providerBinary {
						continue
					}
					seen[pid] = &last{}
				}
			}
			for pid, l := range seen {
				if ticks, ok := cpuTicks(pid); ok {
					l.ticks = ticks
				}
				if hwm, ok := peakRSS(pid); ok {
					l.hwm = hwm
				}
			}
		}
		for {
			read()
			select {
			case <-stop:
				var u usage
				for _, l := range seen {
					u.CPU += time.Duration(l.ticks) * clockTick
					u.PeakRSS = max(u.PeakRSS, l.hwm)
					u.Processes++
				}
				out <- u
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// childrenOf lists the children of pid from /proc/<pid>/task/*/children, or, on kernels
// without that file, from the whole process table.
func childrenOf(pid int) []int {
	base := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var out []int
	found := false
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(base, t.Name(), "children"))
		if err != nil {
			continue
		}
		found = true
		for _, f := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(f); err == nil {
				out = append(out, child)
			}
		}
	}
	if found {
		return out
	}
	for _, p := range proc.All() {
		if p.Parent == pid {
			out = append(out, p.PID)
		}
	}
	return out
}

// cpuTicks is utime+stime of /proc/<pid>/stat.
func cpuTicks(pid int) (int64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	return parseStatTicks(b)
}

// parseStatTicks reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line. The
// command name (field 2) is in parentheses and may hold spaces: fields are counted after it.
func parseStatTicks(stat []byte) (int64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state): utime is field 14, fields[11].
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return utime + stime, true
}

// peakRSS is VmHWM of /proc/<pid>/status, in bytes.
func peakRSS(pid int) (int64, bool) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	return parseVmHWM(f)
}

func parseVmHWM(f io.Reader) (int64, bool) {
	s := bufio.NewScanner(f)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}
