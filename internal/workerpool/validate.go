package workerpool

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Bounds of the Cluster API v1beta2 CRDs (KubeadmConfigTemplate, MachineDeployment,
// MachineHealthCheck) for the fields a pool writes: a value beyond them is refused by the
// API server at apply. TestCRDFidelity compares them with the CRDs of the Cluster API
// release the provider is built with.
const (
	MaxFiles               = 200   // spec.template.spec.files maxItems
	MaxFilePathLength      = 512   // files[].path maxLength
	MaxFileContentLength   = 10240 // files[].content maxLength
	MaxFileOwnerLength     = 256   // files[].owner maxLength
	MaxFilePermissionsLen  = 16    // files[].permissions maxLength
	MaxSecretKeyLength     = 256   // files[].contentFrom.secret.key maxLength
	MaxCommands            = 1000  // preKubeadmCommands / postKubeadmCommands maxItems
	MaxCommandLength       = 10240 // preKubeadmCommands[] / postKubeadmCommands[] maxLength
	MaxKubeletArgs         = 100   // nodeRegistration.kubeletExtraArgs maxItems
	MaxKubeletArgName      = 256   // kubeletExtraArgs[].name maxLength
	MaxKubeletArgValue     = 1024  // kubeletExtraArgs[].value maxLength
	MaxTaints              = 100   // nodeRegistration.taints maxItems
	MaxFailureDomainLength = 256   // MachineDeployment spec.template.spec.failureDomain maxLength
	MaxNodeConditions      = 100   // MachineHealthCheck spec.checks.unhealthyNodeConditions maxItems
	// MinNodeStartupTimeoutSeconds is the shortest startup timeout Cluster API's
	// MachineHealthCheck webhook accepts; 0 disables the check.
	MinNodeStartupTimeoutSeconds = 30
)

// FileEncodings are the encodings of a file's content (the CRD's enum).
var FileEncodings = []string{"base64", "gzip", "gzip+base64"}

// IntOrPercent is a count of machines: a whole number, or a percentage of the replicas.
type IntOrPercent struct {
	Value   int
	Percent bool
}

// IsZero reports whether it allows no machine at all, whatever the replicas.
func (v IntOrPercent) IsZero() bool { return v.Value == 0 }

func (v IntOrPercent) String() string {
	if v.Percent {
		return strconv.Itoa(v.Value) + "%"
	}
	return strconv.Itoa(v.Value)
}

var intOrPercentSyntax = regexp.MustCompile(`^(0|[1-9][0-9]*)(%?)$`)

// ParseIntOrPercent reads a count such as 1 or 25%, as Cluster API's webhooks read an
// int-or-string (intstr.GetScaledValueFromIntOrPercent), and refuses what they refuse or
// what a Deployment refuses: a negative count, a fraction, leading zeros or spaces.
func ParseIntOrPercent(s string) (IntOrPercent, error) {
	m := intOrPercentSyntax.FindStringSubmatch(s)
	if m == nil {
		return IntOrPercent{}, fmt.Errorf("%q is not a whole number or a percentage: write e.g. 1 or 25%%", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 32)
	if err != nil {
		return IntOrPercent{}, fmt.Errorf("%q is too large: at most %d", s, int32(^uint32(0)>>1))
	}
	return IntOrPercent{Value: int(n), Percent: m[2] == "%"}, nil
}

// CheckMaxUnavailable refuses a max_unavailable that is not a count, or more than 100%
// of the machines (Kubernetes' Deployment rule).
func CheckMaxUnavailable(s string) error {
	v, err := ParseIntOrPercent(s)
	if err != nil {
		return err
	}
	if v.Percent && v.Value > 100 {
		return fmt.Errorf("%s is more than all machines: at most 100%%", v)
	}
	return nil
}

// RolloutStuckError is a rolling update that can never make progress: no machine may be
// added and none may be taken away. Cluster API's MachineDeployment webhook refuses it.
type RolloutStuckError struct{ MaxSurge, MaxUnavailable string }

func (e *RolloutStuckError) Error() string {
	return fmt.Sprintf("max_surge (%s) and max_unavailable (%s) are both 0: a rolling update could neither add a new machine "+
		"nor remove an old one, so it would never progress. Allow at least one, e.g. max_surge = \"1\"", e.MaxSurge, e.MaxUnavailable)
}

// CheckRollout refuses a rolling update whose max surge and max unavailable are both zero
// (0 or 0%). An empty value is Cluster API's default (surge 1, unavailable 0).
func CheckRollout(r Rollout) error {
	if r.Strategy == StrategyOnDelete {
		return nil
	}
	surge, unavailable := r.MaxSurge, r.MaxUnavailable
	if surge == "" {
		surge = "1"
	}
	if unavailable == "" {
		unavailable = "0"
	}
	// A bound that is not a count is refused by its own attribute's check.
	s, err1 := ParseIntOrPercent(surge)
	u, err2 := ParseIntOrPercent(unavailable)
	if err1 == nil && err2 == nil && s.IsZero() && u.IsZero() {
		return &RolloutStuckError{MaxSurge: surge, MaxUnavailable: unavailable}
	}
	return nil
}

// CheckAutoscaling refuses a range the autoscaler can never satisfy.
func CheckAutoscaling(a Autoscaling) error {
	if a.Min > a.Max {
		return fmt.Errorf("min (%d) is larger than max (%d): the autoscaler could never satisfy it. Lower min or raise max", a.Min, a.Max)
	}
	return nil
}

// ReservedKubeletArgs are kubelet flags the provider writes itself from other fields of
// the spec, each mapped to that field: a value in KubeletExtraArgs would fight it.
var ReservedKubeletArgs = map[string]string{
	NodeLabelsArg:          "NodeLabels",
	"register-with-taints": "NodeTaints",
}

// ReservedArgError is a kubelet flag set through KubeletExtraArgs that Field owns.
type ReservedArgError struct{ Arg, Field string }

func (e *ReservedArgError) Error() string {
	return fmt.Sprintf("the kubelet flag --%s is written by the provider from %s", e.Arg, e.Field)
}

var kubeletFlagName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// CheckKubeletArgName refuses a key of KubeletExtraArgs that is not a kubelet flag name
// as kubeadm writes it (without the leading --), or that the provider sets from another
// field (*ReservedArgError).
func CheckKubeletArgName(name string) error {
	switch {
	case strings.HasPrefix(name, "-"):
		trimmed := strings.TrimLeft(name, "-")
		return fmt.Errorf("%q starts with -: kubeadm adds the leading -- itself, write the flag name alone, e.g. %q", name, trimmed)
	case strings.Contains(name, "="):
		flag, _, _ := strings.Cut(name, "=")
		return fmt.Errorf("%q contains '=': the key is the flag name and the map value its value, e.g. { %q = \"...\" }", name, flag)
	case len(name) > MaxKubeletArgName:
		return fmt.Errorf("the flag name is %d characters long, Cluster API accepts at most %d", len(name), MaxKubeletArgName)
	case !kubeletFlagName.MatchString(name):
		return fmt.Errorf("%q is not a kubelet flag name: lower-case letters, digits and '-', e.g. max-pods", name)
	}
	if field, ok := ReservedKubeletArgs[name]; ok {
		return &ReservedArgError{Arg: name, Field: field}
	}
	return nil
}

// CheckKubeletArgValue refuses a value longer than Cluster API stores.
func CheckKubeletArgValue(value string) error {
	if len(value) > MaxKubeletArgValue {
		return fmt.Errorf("the value is %d characters long, Cluster API accepts at most %d", len(value), MaxKubeletArgValue)
	}
	return nil
}

// CheckNodeLabelsArg refuses node labels whose --node-labels value (the labels the kubelet
// sets) is longer than Cluster API stores for one flag.
func CheckNodeLabelsArg(nodeLabels map[string]string) error {
	kubelet, _ := SplitNodeLabels(nodeLabels)
	if v := FormatNodeLabels(kubelet); len(v) > MaxKubeletArgValue {
		return fmt.Errorf("the node labels the kubelet sets make a --%s value of %d characters, Cluster API accepts at most %d: "+
			"use fewer or shorter labels", NodeLabelsArg, len(v), MaxKubeletArgValue)
	}
	return nil
}

// CheckKubeletArgCount refuses more kubelet flags, counting the --node-labels the provider
// adds for node labels, than the KubeadmConfigTemplate holds.
func CheckKubeletArgCount(args, nodeLabels map[string]string) error {
	n := len(args)
	if kubelet, _ := SplitNodeLabels(nodeLabels); len(kubelet) > 0 {
		n++
	}
	if n > MaxKubeletArgs {
		return fmt.Errorf("%d kubelet flags (counting the --%s the node labels make), Cluster API accepts at most %d", n, NodeLabelsArg, MaxKubeletArgs)
	}
	return nil
}

// DuplicateError is an entry of a list that repeats an earlier one where the API needs
// them unique. First and Second are the indexes.
type DuplicateError struct {
	What          string
	First, Second int
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("entries %d and %d have the same %s", e.First, e.Second, e.What)
}

// CheckTaints refuses two taints with the same key and effect, which Kubernetes refuses on
// a Node: the kubelet would fail to register it.
func CheckTaints(taints []Taint) []*DuplicateError {
	var errs []*DuplicateError
	seen := map[[2]string]int{}
	for i, t := range taints {
		k := [2]string{t.Key, t.Effect}
		if first, ok := seen[k]; ok {
			errs = append(errs, &DuplicateError{What: "key and effect (" + t.Key + ":" + t.Effect + ")", First: first, Second: i})
			continue
		}
		seen[k] = i
	}
	return errs
}

// CheckFilePaths refuses two files with one path (Cluster API's KubeadmConfig webhook:
// "path property must be unique among all files").
func CheckFilePaths(files []File) []*DuplicateError {
	var errs []*DuplicateError
	seen := map[string]int{}
	for i, f := range files {
		if first, ok := seen[f.Path]; ok {
			errs = append(errs, &DuplicateError{What: "path (" + f.Path + ")", First: first, Second: i})
			continue
		}
		seen[f.Path] = i
	}
	return errs
}

// CheckFilePath refuses a path cloud-init cannot write to: relative, or longer than the CRD allows.
func CheckFilePath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is not an absolute path: start it with /", p)
	case len(p) > MaxFilePathLength:
		return fmt.Errorf("the path is %d characters long, Cluster API accepts at most %d", len(p), MaxFilePathLength)
	case strings.HasSuffix(p, "/") || path.Clean(p) == "/":
		return fmt.Errorf("%q names a directory: give the path of the file", p)
	}
	return nil
}

var ownerSyntax = regexp.MustCompile(`^[^:\s]+(:[^:\s]+)?$`)

// CheckFileOwner refuses an owner that is not user or user:group, or longer than the CRD allows.
func CheckFileOwner(owner string) error {
	if len(owner) > MaxFileOwnerLength {
		return fmt.Errorf("the owner is %d characters long, Cluster API accepts at most %d", len(owner), MaxFileOwnerLength)
	}
	if !ownerSyntax.MatchString(owner) {
		return fmt.Errorf("%q is not user or user:group (e.g. root:root)", owner)
	}
	return nil
}

var permissionsSyntax = regexp.MustCompile(`^0?[0-7]{3,4}$`)

// CheckFilePermissions refuses permissions that are not octal (0644).
func CheckFilePermissions(p string) error {
	if !permissionsSyntax.MatchString(p) || len(p) > MaxFilePermissionsLen {
		return fmt.Errorf("%q is not octal permissions such as 0644", p)
	}
	return nil
}

// CheckSecretKey refuses a key a Secret cannot have.
func CheckSecretKey(key string) error {
	if len(key) > MaxSecretKeyLength {
		return fmt.Errorf("the key is %d characters long, Cluster API accepts at most %d", len(key), MaxSecretKeyLength)
	}
	if problems := validation.IsConfigMapKey(key); len(problems) > 0 {
		return fmt.Errorf("%q is not a key a Secret can have: %s", key, strings.Join(problems, "; "))
	}
	return nil
}

var gzipMagic = []byte{0x1f, 0x8b}

// CheckFileContent refuses inline content longer than the CRD allows, or that is not in
// the encoding it declares: cloud-init would fail to write the file when the machine
// boots, and the machine would never join.
func CheckFileContent(content, encoding string) error {
	if len(content) > MaxFileContentLength {
		return fmt.Errorf("the content is %d bytes long, Cluster API accepts at most %d inline: put it in a Secret and "+
			"use secret_name and secret_key", len(content), MaxFileContentLength)
	}
	switch encoding {
	case "base64", "gzip+base64":
		decoded, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), ""))
		if err != nil {
			return fmt.Errorf("the content is not base64, as encoding = %q says: %w. Encode it with base64encode() or base64gzip()", encoding, err)
		}
		if encoding == "gzip+base64" && !bytes.HasPrefix(decoded, gzipMagic) {
			return fmt.Errorf("the content decodes from base64 but is not gzip data, as encoding = %q says: encode it with base64gzip()", encoding)
		}
	case "gzip":
		if !strings.HasPrefix(content, string(gzipMagic)) {
			return fmt.Errorf("the content is not gzip data, as encoding = \"gzip\" says: Terraform strings cannot hold gzip " +
				"data, use encoding = \"gzip+base64\" with base64gzip()")
		}
	}
	return nil
}

// CheckCommand refuses a command longer than the KubeadmConfigTemplate holds.
func CheckCommand(c string) error {
	if len(c) > MaxCommandLength {
		return fmt.Errorf("the command is %d characters long, Cluster API accepts at most %d: put longer scripts in files", len(c), MaxCommandLength)
	}
	return nil
}
