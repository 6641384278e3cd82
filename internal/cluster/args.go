package cluster

import (
	"fmt"
	"regexp"
	"strings"
)

// flagPattern is a command-line argument as Kamaji passes extra arguments to the control
// plane's components and Konnectivity: --name or --name=value, the name in lower case.
var flagPattern = regexp.MustCompile(`^--([a-z0-9][a-z0-9-]*)(=(.*))?$`)

// Flag is one parsed extra argument.
type Flag struct {
	Name, Value string
	// HasValue is false for a bare --name.
	HasValue bool
}

// ParseFlag parses one extra argument, or explains what is wrong with it.
func ParseFlag(arg string) (Flag, error) {
	m := flagPattern.FindStringSubmatch(arg)
	if m == nil {
		return Flag{}, fmt.Errorf("%q is not --flag or --flag=value: %s", arg, flagHint(arg))
	}
	return Flag{Name: m[1], Value: m[3], HasValue: m[2] != ""}, nil
}

// flagHint says how a malformed argument differs from the expected shape.
func flagHint(arg string) string {
	name, _, _ := strings.Cut(arg, "=")
	switch {
	case arg == "" || arg == "--":
		return "the argument is empty"
	case strings.HasPrefix(arg, "--") && strings.TrimLeft(name, "-") != name[2:]:
		return "it starts with more than two dashes"
	case strings.HasPrefix(arg, "-") && !strings.HasPrefix(arg, "--"):
		return "it starts with one dash; write two, e.g. --v=2"
	case !strings.HasPrefix(arg, "-"):
		if strings.ContainsAny(arg, " \t") {
			return "it holds a space: write flag and value as one --flag=value entry, e.g. --v=2"
		}
		return "it does not start with --; write e.g. --v=2"
	case strings.ContainsAny(name, " \t"):
		return "the flag name holds a space: write --flag=value, e.g. --v=2"
	default:
		return "the flag name may only hold lower-case letters, digits and '-', e.g. --audit-log-maxage=30"
	}
}

// Flags parses extra arguments into their values by name (the last one wins, as on a
// command line), with the problems of the arguments that are malformed, by index.
func Flags(args []string) (map[string]Flag, map[int]error) {
	flags := map[string]Flag{}
	var bad map[int]error
	for i, a := range args {
		f, err := ParseFlag(a)
		if err != nil {
			if bad == nil {
				bad = map[int]error{}
			}
			bad[i] = err
			continue
		}
		flags[f.Name] = f
	}
	return flags, bad
}

// CheckJSONPointer checks an RFC 6901 JSON pointer, as the path and from of a JSON patch
// operation: empty (the whole document) or '/'-separated tokens, with '~' written only as
// ~0 ('~') or ~1 ('/').
func CheckJSONPointer(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q does not start with '/': a JSON pointer is /-separated keys, e.g. /cgroupDriver or /evictionHard/memory.available", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return fmt.Errorf("%q has a '~' that is not ~0 or ~1: in a JSON pointer write '~' as ~0 and '/' inside a key as ~1", p)
		}
	}
	return nil
}
