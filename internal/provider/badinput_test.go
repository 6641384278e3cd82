package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/qumulus/terraform-provider-qumulus/internal/testsupport/acctest"
)

// The bad-input suite: configurations a user may write by mistake, each of which must be
// refused by `terraform validate` or `terraform plan` with an error on the attribute at
// fault that names the rule, and empty collections that must be accepted with no drift.
//
// To add cases, declare in any _test.go file of this package (one per resource, e.g.
// worker_pool_badinput_test.go; cluster_badinput_test.go has qumulus_cluster's)
//
//	var _ = addBadInputs(
//		badInput{name: "...", resource: "qumulus_foo", body: `...`, phase: "validate", attr: "...", summary: `...`, detail: `...`},
//		...
//	)
//
// TestAccBadInput runs every case so added. Write
// map keys quoted (labels = { "team" = "x" }) and object attributes bare, so that the
// suite names them as Terraform does: labels["team"], network.pod_cidrs. Every case becomes one
// resource block `resource "<resource>" "<label>" { <body> }` of a shared configuration,
// so a body must be complete and must not depend on other cases. Cases of one phase run
// in one Terraform invocation; a diagnostic is attributed to the case whose block holds
// its source range, and to the attribute (or list entry, or map key) whose expression
// holds it or, where Terraform points at the whole block (it does for attributes nested
// in objects), to the attribute its detail names: every diagnostic must name its
// attribute. Accept cases are applied together and must then plan no changes; their
// bodies may refer to qumulus_tenant.badinput (a tenant the suite creates) and to the
// resources of their support HCL.

// badInput is one case of the bad-input suite.
type badInput struct {
	name     string
	resource string // resource type, e.g. "qumulus_cluster"
	body     string // HCL of the resource block's body
	// phase is "validate" (refused by terraform validate) or "plan" (refused only by
	// terraform plan, e.g. rules that need the provider's defaults or the state).
	phase string
	// attr is the attribute the error is on, as Terraform writes paths:
	// network.pod_cidrs[0], labels["qumulus.io/cluster"]. When the attribute is not in the
	// configuration, the nearest one that is (Terraform points there).
	attr string
	// summary and detail are regular expressions the diagnostic's summary and detail must
	// match (detail with its whitespace normalised to single spaces).
	summary, detail string
	// accept marks a configuration that must be accepted: applied, then planned with no
	// changes (empty collections that mean "none").
	accept bool
	// support is HCL an accept case needs besides its resource (e.g. a cluster for a
	// worker pool); it is added to the configuration once, however many cases share it.
	support string
}

var badInputCases []badInput

// addBadInputs adds cases to the suite and returns them, so that a file registers its
// cases with var _ = addBadInputs(...).
func addBadInputs(cases ...badInput) []badInput { //nolint:unparam // the result is for var _ =
	badInputCases = append(badInputCases, cases...)
	return cases
}

// badInputDiagnostic is an error diagnostic of terraform validate -json / plan -json.
type badInputDiagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Address  string `json:"address"`
	Range    *struct {
		Filename string `json:"filename"`
		Start    struct {
			Line   int `json:"line"`
			Column int `json:"column"`
			Byte   int `json:"byte"`
		} `json:"start"`
	} `json:"range"`
}

func (d badInputDiagnostic) String() string {
	where := "no source range"
	if d.Range != nil {
		where = fmt.Sprintf("%s:%d,%d (byte %d)", d.Range.Filename, d.Range.Start.Line, d.Range.Start.Column, d.Range.Start.Byte)
	}
	return fmt.Sprintf("%q (%s): %s", d.Summary, where, strings.Join(strings.Fields(d.Detail), " "))
}

func TestAccBadInput(t *testing.T) {
	isolateEnv(t)
	acctest.Cluster(t)
	byPhase := map[string][]badInput{}
	labels := map[string]bool{}
	for _, c := range badInputCases {
		phase := c.phase
		if c.accept {
			phase = "accept"
		}
		switch phase {
		case "validate", "plan", "accept":
		default:
			t.Fatalf("case %q: phase %q is neither validate nor plan", c.name, c.phase)
		}
		if !c.accept && (c.attr == "" || c.summary == "") {
			t.Fatalf("case %q: a refusal needs attr and summary", c.name)
		}
		if labels[badInputLabel(c)] {
			t.Fatalf("case %q: two cases have this name", c.name)
		}
		labels[badInputLabel(c)] = true
		byPhase[phase] = append(byPhase[phase], c)
	}
	var refused = map[string]int{}
	for _, phase := range []string{"validate", "plan"} {
		if cases := byPhase[phase]; len(cases) > 0 {
			t.Run(phase, func(t *testing.T) { refused[phase] = runRefusals(t, phase, cases) })
		}
	}
	accepted := 0
	if cases := byPhase["accept"]; len(cases) > 0 {
		t.Run("accept", func(t *testing.T) { accepted = runAccepts(t, cases) })
	}
	t.Logf("bad-input suite: %d cases tried (%d for validate, %d for plan, %d to accept); %d refused at validate, %d refused at plan, %d accepted without drift",
		len(badInputCases), len(byPhase["validate"]), len(byPhase["plan"]), len(byPhase["accept"]), refused["validate"], refused["plan"], accepted)
}

func badInputLabel(c badInput) string {
	label := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(c.name), "_"), "_")
	return strings.TrimPrefix(c.resource, "qumulus_") + "_" + label
}

// badInputConfig is the configuration of cases, with the block of each case by label.
func badInputConfig(t *testing.T, cases []badInput, extra string) string {
	var b strings.Builder
	b.WriteString("terraform {\n  required_providers {\n    qumulus = { source = \"qumulus/qumulus\" }\n  }\n}\n\n")
	b.WriteString(acctest.ProviderBlock(t))
	b.WriteString(extra)
	supports := map[string]bool{}
	for _, c := range cases {
		if c.support != "" && !supports[c.support] {
			supports[c.support] = true
			b.WriteString("\n" + c.support + "\n")
		}
		fmt.Fprintf(&b, "\n# %s\nresource %q %q {\n%s\n}\n", c.name, c.resource, badInputLabel(c), c.body)
	}
	return b.String()
}

// runRefusals runs the cases of one phase in one Terraform invocation and returns how
// many were refused as they should be.
func runRefusals(t *testing.T, phase string, cases []badInput) int {
	cli := acctest.NewCLI(t, false)
	config := badInputConfig(t, cases, "")
	cli.Write(config)
	var diags []badInputDiagnostic
	if phase == "validate" {
		out, err := cli.Run("validate", "-json")
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("terraform validate: %v\n%s", err, out)
		}
		var result struct {
			Diagnostics []badInputDiagnostic `json:"diagnostics"`
		}
		start := strings.Index(out, "{")
		if start < 0 || json.Unmarshal([]byte(out[start:strings.LastIndex(out, "}")+1]), &result) != nil {
			t.Fatalf("terraform validate -json printed no JSON result:\n%s", out)
		}
		diags = result.Diagnostics
	} else {
		out, _ := cli.Run("plan", "-json", "-input=false", "-lock=false")
		for line := range strings.Lines(out) {
			var msg struct {
				Type       string             `json:"type"`
				Diagnostic badInputDiagnostic `json:"diagnostic"`
			}
			if json.Unmarshal([]byte(line), &msg) == nil && msg.Type == "diagnostic" {
				diags = append(diags, msg.Diagnostic)
			}
		}
	}
	blocks, attrs := badInputSource(t, config)
	type attributed struct {
		badInputDiagnostic
		at string
	}
	got := map[string][]attributed{}
	for _, d := range diags {
		if d.Severity != "error" {
			continue
		}
		label := ""
		if d.Range != nil && d.Range.Filename == "main.tf" {
			for l, r := range blocks {
				if d.Range.Start.Byte >= r.Start.Byte && d.Range.Start.Byte < r.End.Byte {
					label = l
				}
			}
		}
		if label == "" {
			t.Errorf("an error belongs to no case: %s", d)
			continue
		}
		if d.Address != "" && !strings.HasSuffix(d.Address, "."+label) {
			t.Errorf("an error in the block of %s has the address %s: %s", label, d.Address, d)
		}
		at := badInputAttr(attrs[label], d.Range.Start.Byte)
		if at == "" {
			at = badInputNamed(attrs[label], d, cases)
		}
		got[label] = append(got[label], attributed{d, at})
	}
	ok := 0
	for _, c := range cases {
		label := badInputLabel(c)
		errs := got[label]
		summary := regexp.MustCompile(`^(?:` + c.summary + `)$`)
		detail := regexp.MustCompile(c.detail)
		var matched, others []string
		for _, d := range errs {
			at := d.at
			text := strings.Join(strings.Fields(d.Detail), " ")
			if at == c.attr && summary.MatchString(d.Summary) && detail.MatchString(text) {
				matched = append(matched, d.String())
			} else {
				others = append(others, fmt.Sprintf("on %q: %s", at, d))
			}
		}
		switch {
		case len(errs) == 0:
			t.Errorf("%s (%s): accepted by terraform %s, want an error on %s", c.name, label, phase, c.attr)
		case len(matched) == 0:
			t.Errorf("%s (%s): no error on %s with summary %q and detail matching %q; got:\n  %s",
				c.name, label, c.attr, c.summary, c.detail, strings.Join(others, "\n  "))
		case len(others) > 0:
			t.Errorf("%s (%s): besides the expected error, unexpected ones:\n  %s", c.name, label, strings.Join(others, "\n  "))
		default:
			ok++
		}
	}
	return ok
}

// badInputSource parses the configuration: the range of each case's block by label, and
// the attributes in it (names, list entries, map keys) with the ranges of their
// expressions.
func badInputSource(t *testing.T, config string) (map[string]hcl.Range, map[string]map[string]hcl.Range) {
	f, diags := hclsyntax.ParseConfig([]byte(config), "main.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("the suite's configuration does not parse: %s", diags.Error())
	}
	blocks := map[string]hcl.Range{}
	attrs := map[string]map[string]hcl.Range{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 {
			continue
		}
		blocks[b.Labels[1]] = b.Range()
		attrs[b.Labels[1]] = map[string]hcl.Range{}
		badInputWalkBody(b.Body, "", attrs[b.Labels[1]])
	}
	return blocks, attrs
}

func badInputWalkBody(body *hclsyntax.Body, prefix string, out map[string]hcl.Range) {
	for name, a := range body.Attributes {
		p := prefix + name
		out[p] = a.SrcRange
		badInputWalkExpr(a.Expr, p, out)
	}
	for _, b := range body.Blocks {
		badInputWalkBody(b.Body, prefix+b.Type+".", out)
	}
}

func badInputWalkExpr(e hclsyntax.Expression, p string, out map[string]hcl.Range) {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, item := range e.Items {
			var kp string
			if kw := hcl.ExprAsKeyword(item.KeyExpr); kw != "" {
				kp = p + "." + kw
			} else if v, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && v.Type().FriendlyName() == "string" {
				kp = fmt.Sprintf("%s[%q]", p, v.AsString())
			} else {
				continue
			}
			out[kp] = hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
			badInputWalkExpr(item.ValueExpr, kp, out)
		}
	case *hclsyntax.TupleConsExpr:
		for i, x := range e.Exprs {
			ip := fmt.Sprintf("%s[%d]", p, i)
			out[ip] = x.Range()
			badInputWalkExpr(x, ip, out)
		}
	}
}

// badInputNamed is the attribute a diagnostic's detail names, for diagnostics whose range
// Terraform does not narrow down below the block (it does not for nested attributes): the
// longest of the case's configured attributes and of the attributes the cases expect that
// the detail mentions (bare or quoted, as the framework's path validators write them), of
// equally long ones the first mentioned ("min["x"] is greater than max["x"]" is about min),
// "" for none.
func badInputNamed(attrs map[string]hcl.Range, d badInputDiagnostic, cases []badInput) string {
	best, at := "", -1
	mentions := func(p string) {
		loc := regexp.MustCompile(`(?:^|[\s("])(` + regexp.QuoteMeta(p) + `)(?:[\s:),."]|$)`).FindStringSubmatchIndex(d.Detail)
		if loc == nil {
			return
		}
		if start := loc[2]; at < 0 || len(p) > len(best) || len(p) == len(best) && start < at {
			best, at = p, start
		}
	}
	for p := range attrs {
		mentions(p)
	}
	for _, c := range cases {
		mentions(c.attr)
	}
	return best
}

// badInputAttr is the innermost attribute whose range holds offset, "" for the block.
func badInputAttr(attrs map[string]hcl.Range, offset int) string {
	best, size := "", -1
	for p, r := range attrs {
		if offset >= r.Start.Byte && offset < r.End.Byte && (size < 0 || r.End.Byte-r.Start.Byte < size) {
			best, size = p, r.End.Byte-r.Start.Byte
		}
	}
	return best
}

// runAccepts applies the accept cases together and checks that a plan then changes
// nothing; it returns how many cases were accepted without drift.
func runAccepts(t *testing.T, cases []badInput) int {
	cli := acctest.NewCLI(t, false)
	tenant := fmt.Sprintf("resource \"qumulus_tenant\" \"badinput\" {\n  name          = %q\n  force_destroy = true\n}\n", tenantName())
	cli.Write(badInputConfig(t, cases, tenant))
	// Destroyed when the cases are done, so that a failed check still destroys.
	defer func() {
		if out, err := cli.Run("destroy", "-auto-approve"); err != nil {
			t.Errorf("destroying the accept cases: %v\n%s", err, out)
		}
	}()
	if out, err := cli.Run("apply", "-auto-approve"); err != nil {
		t.Fatalf("applying the accept cases failed: %v\n%s", err, out)
	}
	out, err := cli.Run("plan", "-json", "-detailed-exitcode")
	drifted := map[string][]string{}
	for line := range strings.Lines(out) {
		var msg struct {
			Type   string `json:"type"`
			Change struct {
				Resource struct {
					Addr string `json:"addr"`
				} `json:"resource"`
				Action string `json:"action"`
			} `json:"change"`
		}
		if json.Unmarshal([]byte(line), &msg) == nil && (msg.Type == "planned_change" || msg.Type == "resource_drift") {
			_, label, _ := strings.Cut(msg.Change.Resource.Addr, ".")
			drifted[label] = append(drifted[label], msg.Type+" "+msg.Change.Action)
		}
	}
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 2) {
		t.Fatalf("the plan after apply failed: %v\n%s", err, out)
	}
	if err != nil && len(drifted) == 0 {
		t.Errorf("the plan after apply has changes, none of them a case's:\n%s", out)
	}
	ok := 0
	for _, c := range cases {
		if changes := drifted[badInputLabel(c)]; len(changes) > 0 {
			slices.Sort(changes)
			t.Errorf("%s (%s): the plan after apply is not empty: %s", c.name, badInputLabel(c), strings.Join(changes, ", "))
			continue
		}
		ok++
	}
	if t.Failed() {
		show, _ := cli.Run("plan")
		t.Logf("plan after apply:\n%s", show)
	}
	return ok
}
