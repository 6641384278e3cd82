package cluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// OneFamilyTwice reports whether cidrs are two networks of one IP family, which Kamaji
// refuses: it takes one network, or one IPv4 and one IPv6 network for dual-stack.
func OneFamilyTwice(cidrs []string) bool {
	if len(cidrs) != 2 {
		return false
	}
	a, errA := netip.ParsePrefix(cidrs[0])
	b, errB := netip.ParsePrefix(cidrs[1])
	return errA == nil && errB == nil && a.Addr().Is4() == b.Addr().Is4()
}

// PatchProblem is what is wrong with one field of a JSON patch operation.
type PatchProblem struct {
	// Field is "value" or "from".
	Field, Summary, Detail string
}

// CheckPatch checks an RFC 6902 operation as kubeadm will apply it: op is known; value
// and from (nil when absent) must be present exactly when op takes them.
func CheckPatch(op string, value *string, from *string) []PatchProblem {
	switch op {
	case "add", "remove", "replace", "move", "copy", "test":
	default:
		// An unknown op is refused by itself; what it takes is unknown.
		return nil
	}
	var out []PatchProblem
	needsValue := op == "add" || op == "replace" || op == "test"
	needsFrom := op == "move" || op == "copy"
	switch {
	case needsValue && value == nil:
		out = append(out, PatchProblem{"value", "Patch Needs A Value",
			fmt.Sprintf("A %q patch needs value, JSON-encoded, e.g. value = jsonencode(\"systemd\").", op)})
	case !needsValue && value != nil:
		out = append(out, PatchProblem{"value", "Patch Takes No Value", fmt.Sprintf("A %q patch takes no value: remove it.", op)})
	case needsFrom && from == nil:
		out = append(out, PatchProblem{"from", "Patch Needs From", fmt.Sprintf("A %q patch needs from, the JSON pointer to take the value from.", op)})
	case !needsFrom && from != nil:
		out = append(out, PatchProblem{"from", "Patch Takes No From", fmt.Sprintf("A %q patch takes no from: remove it.", op)})
	}
	return out
}

// CheckPatchValue checks the JSON value of a patch operation.
func CheckPatchValue(value string) *PatchProblem {
	if strings.TrimSpace(value) == "null" {
		return &PatchProblem{"value", "Patch Value Is Null", "A JSON null value is dropped by the API server; to delete a field use op = \"remove\"."}
	}
	if !json.Valid([]byte(value)) {
		return &PatchProblem{"value", "Patch Value Is Not JSON",
			fmt.Sprintf("%q is not JSON. Write the value with jsonencode(), e.g. value = jsonencode(\"systemd\").", value)}
	}
	return nil
}
