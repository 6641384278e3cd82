package cluster

import (
	"strings"
	"testing"
)

func TestOneFamilyTwice(t *testing.T) {
	t.Parallel()
	for cidrs, want := range map[string]bool{
		"10.96.0.0/12":                  false,
		"10.96.0.0/12,fd00:10:96::/108": false,
		"fd00:10:96::/108,10.96.0.0/12": false,
		"10.96.0.0/12,10.97.0.0/16":     true,
		"fd00::/108,fd01::/108":         true,
	} {
		if got := OneFamilyTwice(strings.Split(cidrs, ",")); got != want {
			t.Errorf("OneFamilyTwice(%s) = %v, want %v", cidrs, got, want)
		}
	}
}

func TestCheckPatch(t *testing.T) {
	t.Parallel()
	v, from := `"systemd"`, "/a"
	cases := []struct {
		name, op    string
		value, from *string
		want        string // summary of the one problem, "" for none
	}{
		{"add with value", "add", &v, nil, ""},
		{"add without value", "add", nil, nil, "Patch Needs A Value"},
		{"remove with value", "remove", &v, nil, "Patch Takes No Value"},
		{"remove plain", "remove", nil, nil, ""},
		{"move with from", "move", nil, &from, ""},
		{"copy without from", "copy", nil, nil, "Patch Needs From"},
		{"replace with from", "replace", &v, &from, "Patch Takes No From"},
		{"unknown op", "set", &v, nil, ""},
	}
	for _, c := range cases {
		got := CheckPatch(c.op, c.value, c.from)
		switch {
		case c.want == "" && len(got) > 0:
			t.Errorf("%s: unexpected %v", c.name, got)
		case c.want != "" && (len(got) != 1 || got[0].Summary != c.want):
			t.Errorf("%s: got %v, want %q", c.name, got, c.want)
		}
	}
	for value, want := range map[string]string{`"x"`: "", `{"a":1}`: "", ` null `: "Patch Value Is Null", `systemd`: "Patch Value Is Not JSON"} {
		got := CheckPatchValue(value)
		if want == "" && got != nil || want != "" && (got == nil || got.Summary != want || got.Field != "value") {
			t.Errorf("CheckPatchValue(%q) = %v, want %q", value, got, want)
		}
	}
}
