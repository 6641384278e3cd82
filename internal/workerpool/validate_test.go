package workerpool

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestParseIntOrPercent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    IntOrPercent
		wantErr bool
	}{
		{"0", IntOrPercent{0, false}, false},
		{"3", IntOrPercent{3, false}, false},
		{"25%", IntOrPercent{25, true}, false},
		{"0%", IntOrPercent{0, true}, false},
		{"150%", IntOrPercent{150, true}, false},
		{"-1", IntOrPercent{}, true},
		{"01", IntOrPercent{}, true},
		{"25 %", IntOrPercent{}, true},
		{"1.5", IntOrPercent{}, true},
		{"%", IntOrPercent{}, true},
		{"", IntOrPercent{}, true},
		{"99999999999", IntOrPercent{}, true},
	}
	for _, tt := range tests {
		got, err := ParseIntOrPercent(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseIntOrPercent(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckRollout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		r     Rollout
		stuck bool
	}{
		{"defaults", Rollout{}, false},
		{"both zero", Rollout{MaxSurge: "0", MaxUnavailable: "0"}, true},
		{"both zero percent", Rollout{MaxSurge: "0%", MaxUnavailable: "0%"}, true},
		{"zero and zero percent", Rollout{MaxSurge: "0", MaxUnavailable: "0%"}, true},
		{"surge zero, unavailable default", Rollout{MaxSurge: "0"}, true},
		{"unavailable zero, surge default", Rollout{MaxUnavailable: "0"}, false},
		{"surge zero, one unavailable", Rollout{MaxSurge: "0", MaxUnavailable: "1"}, false},
		{"explicit RollingUpdate", Rollout{Strategy: StrategyRollingUpdate, MaxSurge: "0%", MaxUnavailable: "0"}, true},
		{"OnDelete", Rollout{Strategy: StrategyOnDelete, MaxSurge: "0", MaxUnavailable: "0"}, false},
		{"format problem left to the attribute", Rollout{MaxSurge: "x", MaxUnavailable: "0"}, false},
	}
	for _, tt := range tests {
		err := CheckRollout(tt.r)
		var stuck *RolloutStuckError
		if errors.As(err, &stuck) != tt.stuck {
			t.Errorf("%s: CheckRollout = %v, want stuck %v", tt.name, err, tt.stuck)
		}
	}
	if err := CheckMaxUnavailable("101%"); err == nil || !strings.Contains(err.Error(), "at most 100%") {
		t.Errorf("CheckMaxUnavailable(101%%) = %v", err)
	}
	if err := CheckMaxUnavailable("100%"); err != nil {
		t.Errorf("CheckMaxUnavailable(100%%) = %v", err)
	}
}

func TestCheckKubeletArgName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, field, wantErr string
	}{
		{"max-pods", "", ""},
		{"v", "", ""},
		{"node-labels", "NodeLabels", ""},
		{"register-with-taints", "NodeTaints", ""},
		{"--max-pods", "", `write the flag name alone, e.g. "max-pods"`},
		{"-v", "", `e.g. "v"`},
		{"max-pods=110", "", `{ "max-pods" = "...`},
		{"MaxPods", "", "not a kubelet flag name"},
		{"max_pods", "", "not a kubelet flag name"},
		{"", "", "not a kubelet flag name"},
		{strings.Repeat("a", MaxKubeletArgName+1), "", "at most 256"},
	}
	for _, tt := range tests {
		err := CheckKubeletArgName(tt.name)
		var reserved *ReservedArgError
		switch {
		case tt.field != "":
			if !errors.As(err, &reserved) || reserved.Field != tt.field || reserved.Arg != tt.name {
				t.Errorf("CheckKubeletArgName(%q) = %v, want reserved by %s", tt.name, err, tt.field)
			}
		case tt.wantErr == "":
			if err != nil {
				t.Errorf("CheckKubeletArgName(%q) = %v", tt.name, err)
			}
		case err == nil || !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("CheckKubeletArgName(%q) = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestCheckKubeletArgs(t *testing.T) {
	t.Parallel()
	args := map[string]string{}
	for i := range MaxKubeletArgs - 1 {
		args[strings.Repeat("a", i+1)] = "1"
	}
	if err := CheckKubeletArgCount(args, map[string]string{"node-role.kubernetes.io/db": ""}); err != nil {
		t.Errorf("99 flags and a Machine label: %v", err)
	}
	if err := CheckKubeletArgCount(args, map[string]string{"tier": "gold"}); err != nil {
		t.Errorf("99 flags and --node-labels: %v", err)
	}
	args["extra"] = "1"
	if err := CheckKubeletArgCount(args, map[string]string{"tier": "gold"}); err == nil {
		t.Error("100 flags and --node-labels accepted")
	}
	labels := map[string]string{}
	for i := range 40 {
		labels["example.com/label-"+strings.Repeat("x", 10)+string(rune('a'+i%26))+strings.Repeat("y", i)] = "v"
	}
	if err := CheckNodeLabelsArg(labels); err == nil || !strings.Contains(err.Error(), "at most 1024") {
		t.Errorf("long --node-labels: %v", err)
	}
	if err := CheckNodeLabelsArg(map[string]string{"node-role.kubernetes.io/" + strings.Repeat("x", 60): strings.Repeat("v", 63)}); err != nil {
		t.Errorf("Machine labels do not go into --node-labels: %v", err)
	}
	if err := CheckKubeletArgValue(strings.Repeat("v", MaxKubeletArgValue)); err != nil {
		t.Error(err)
	}
	if err := CheckKubeletArgValue(strings.Repeat("v", MaxKubeletArgValue+1)); err == nil {
		t.Error("long value accepted")
	}
}

func TestCheckDuplicates(t *testing.T) {
	t.Parallel()
	taints := []Taint{{Key: "a", Effect: "NoSchedule"}, {Key: "a", Effect: "NoExecute"}, {Key: "b", Effect: "NoSchedule"}, {Key: "a", Value: "x", Effect: "NoSchedule"}}
	got := CheckTaints(taints)
	if len(got) != 1 || got[0].First != 0 || got[0].Second != 3 {
		t.Errorf("CheckTaints = %v, want entries 0 and 3", got)
	}
	files := []File{{Path: "/a"}, {Path: "/b"}, {Path: "/a"}, {Path: "/a"}}
	gotFiles := CheckFilePaths(files)
	if len(gotFiles) != 2 || gotFiles[0].First != 0 || gotFiles[0].Second != 2 || gotFiles[1].Second != 3 {
		t.Errorf("CheckFilePaths = %v", gotFiles)
	}
	if CheckFilePaths(nil) != nil || CheckTaints(nil) != nil {
		t.Error("no entries, no duplicates")
	}
}

func TestCheckFiles(t *testing.T) {
	t.Parallel()
	gz := base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 8, 0})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"absolute path", CheckFilePath("/etc/motd"), ""},
		{"relative path", CheckFilePath("etc/motd"), "not an absolute path"},
		{"directory", CheckFilePath("/etc/"), "names a directory"},
		{"root", CheckFilePath("/"), "names a directory"},
		{"long path", CheckFilePath("/" + strings.Repeat("a", MaxFilePathLength)), "at most 512"},
		{"owner user:group", CheckFileOwner("root:root"), ""},
		{"owner user", CheckFileOwner("ubuntu"), ""},
		{"owner with space", CheckFileOwner("root root"), "user:group"},
		{"owner two colons", CheckFileOwner("a:b:c"), "user:group"},
		{"owner empty group", CheckFileOwner("root:"), "user:group"},
		{"permissions", CheckFilePermissions("0644"), ""},
		{"permissions short", CheckFilePermissions("644"), ""},
		{"permissions not octal", CheckFilePermissions("0849"), "octal"},
		{"permissions symbolic", CheckFilePermissions("rw-r--r--"), "octal"},
		{"secret key", CheckSecretKey("ca.crt"), ""},
		{"secret key with slash", CheckSecretKey("a/b"), "not a key a Secret can have"},
		{"plain content", CheckFileContent("hello", ""), ""},
		{"base64 content", CheckFileContent(base64.StdEncoding.EncodeToString([]byte("hi")), "base64"), ""},
		{"base64 content with line breaks", CheckFileContent("aGVs\nbG8=", "base64"), ""},
		{"not base64", CheckFileContent("hello world!", "base64"), "not base64"},
		{"gzip+base64", CheckFileContent(gz, "gzip+base64"), ""},
		{"base64 but not gzip", CheckFileContent(base64.StdEncoding.EncodeToString([]byte("hi")), "gzip+base64"), "not gzip data"},
		{"gzip inline", CheckFileContent("hello", "gzip"), "gzip+base64"},
		{"content too long", CheckFileContent(strings.Repeat("a", MaxFileContentLength+1), ""), "put it in a Secret"},
		{"content at the limit", CheckFileContent(strings.Repeat("a", MaxFileContentLength), ""), ""},
		{"command", CheckCommand("echo hi"), ""},
		{"command too long", CheckCommand(strings.Repeat("a", MaxCommandLength+1)), "at most 10240"},
	}
	for _, tt := range tests {
		if tt.want == "" {
			if tt.err != nil {
				t.Errorf("%s: %v", tt.name, tt.err)
			}
			continue
		}
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, tt.err, tt.want)
		}
	}
	if err := CheckAutoscaling(Autoscaling{Min: 3, Max: 2}); err == nil {
		t.Error("min above max accepted")
	}
	if err := CheckAutoscaling(Autoscaling{Min: 2, Max: 2}); err != nil {
		t.Error(err)
	}
}
