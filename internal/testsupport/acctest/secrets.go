package acctest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// minSecretForm is the length below which a form of a secret is not looked for: shorter
// strings turn up by chance.
const minSecretForm = 16

// Scanner looks for secrets in what Terraform prints, logs and stores, and reports where
// it found one without ever printing the secret.
type Scanner struct {
	forms   []secretForm
	sources []string
	// Scanned counts the bytes looked through.
	Scanned int64
}

// secretForm is one rendering of a secret: the value itself, its base64, its JSON (Go %q)
// escaped form, a long line of a multi-line value.
type secretForm struct {
	source, form, text string
}

// Leak is a secret found where it must not be.
type Leak struct {
	// Where names the place: "apply output, line 12", "state: qumulus_cluster.test values.labels".
	Where string
	// Line is the line of a text the leak is on (1 for the first), 0 in a state.
	Line int
	// Source names the secret, Form the rendering of it found (never the secret itself).
	Source, Form string
}

func (l Leak) String() string {
	return fmt.Sprintf("%s holds %s (%s)", l.Where, l.Source, l.Form)
}

// Add registers the values of one source (e.g. "tenant cluster admin client key"). A
// value is looked for as is, base64-encoded (at any alignment inside longer base64),
// escaped as in JSON and Go strings, and, when it holds PEM, by each line of at least 16
// characters that is not an armour line; values shorter than 16 characters are refused,
// as they would turn up by chance. A YAML document (kubeconfig, clouds.yaml) is looked
// for whole: add the secrets in it on their own.
func (s *Scanner) Add(source string, values ...string) error {
	for _, v := range values {
		if len(v) < minSecretForm {
			return fmt.Errorf("a secret of %s is %d characters long: too short to look for", source, len(v))
		}
		s.addForm(source, "value", v)
		for k := range 3 {
			s.addForm(source, "base64", base64Core(v, k))
		}
		if q := strconv.Quote(v); q[1:len(q)-1] != v {
			s.addForm(source, "escaped", q[1:len(q)-1])
		}
		if j, err := json.Marshal(v); err == nil && string(j[1:len(j)-1]) != v {
			s.addForm(source, "JSON-escaped", string(j[1:len(j)-1]))
		}
		if strings.Contains(v, "-----BEGIN ") {
			for i, line := range strings.Split(v, "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "-----") {
					s.addForm(source, fmt.Sprintf("line %d", i+1), line)
				}
			}
		}
	}
	if !slices.Contains(s.sources, source) {
		s.sources = append(s.sources, source)
	}
	return nil
}

func (s *Scanner) addForm(source, form, text string) {
	if len(text) < minSecretForm {
		return
	}
	for _, f := range s.forms {
		if f.text == text {
			return
		}
	}
	s.forms = append(s.forms, secretForm{source: source, form: form, text: text})
}

// base64Core is the part of the base64 encoding of v that does not depend on what
// surrounds v when v starts at byte offset k (mod 3) of a longer encoded document.
func base64Core(v string, k int) string {
	enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), v...))
	start := (k*8 + 5) / 6 // characters that hold bits of the bytes before v
	end := (k + len(v)) / 3 * 4
	if start >= end {
		return ""
	}
	return enc[start:end]
}

// Figures are the number of secrets (values), their sources and the forms looked for.
func (s *Scanner) Figures() (secrets, sources int) {
	values := map[string]bool{}
	for _, f := range s.forms {
		if f.form == "value" {
			values[f.text] = true
		}
	}
	return len(values), len(s.sources)
}

// Text looks for secrets in text (command output, a log); where names it ("apply
// output"). A leak is reported once per line and source.
func (s *Scanner) Text(where string, text []byte) []Leak {
	s.Scanned += int64(len(text))
	var starts []int // offsets at which lines start
	starts = append(starts, 0)
	for i, c := range text {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	type key struct {
		line   int
		source string
	}
	seen := map[key]bool{}
	var leaks []Leak
	for _, f := range s.forms {
		needle := []byte(f.text)
		for off := 0; ; {
			i := bytes.Index(text[off:], needle)
			if i < 0 {
				break
			}
			line, _ := slices.BinarySearch(starts, off+i+1)
			if k := (key{line, f.source}); !seen[k] {
				seen[k] = true
				leaks = append(leaks, Leak{Where: fmt.Sprintf("%s, line %d", where, line), Line: line, Source: f.source, Form: f.form})
			}
			off += i + len(needle)
		}
	}
	slices.SortFunc(leaks, func(a, b Leak) int { return cmp.Or(a.Line-b.Line, strings.Compare(a.Source, b.Source)) })
	return leaks
}

// State looks for secrets in the values of `terraform show -json` (a state or a saved
// plan) that Terraform does not mark sensitive: resources' values outside their
// sensitive_values, planned changes outside before_sensitive/after_sensitive, and outputs
// not marked sensitive.
func (s *Scanner) State(where string, showJSON []byte) ([]Leak, error) {
	s.Scanned += int64(len(showJSON))
	var doc struct {
		Values        *stateValues `json:"values"`
		PlannedValues *stateValues `json:"planned_values"`
		PriorState    *struct {
			Values *stateValues `json:"values"`
		} `json:"prior_state"`
		ResourceChanges []struct {
			Address string       `json:"address"`
			Change  changeValues `json:"change"`
		} `json:"resource_changes"`
		OutputChanges map[string]changeValues `json:"output_changes"`
	}
	if err := json.Unmarshal(showJSON, &doc); err != nil {
		return nil, fmt.Errorf("%s is not the JSON of terraform show -json: %w", where, err)
	}
	var leaks []Leak
	walk := func(at string, v, sensitive any) {
		s.walk(at, v, sensitive, func(path string, f secretForm) {
			leaks = append(leaks, Leak{Where: where + ": " + path, Source: f.source, Form: f.form})
		})
	}
	// The sensitive_values of planned_values mark only what the configuration made
	// sensitive, not the schema's sensitive attributes: the marks of a planned value are its
	// change's after_sensitive, which has both.
	after := map[string]any{}
	for _, rc := range doc.ResourceChanges {
		after[rc.Address] = rc.Change.AfterSensitive
	}
	values := []*stateValues{doc.Values, doc.PlannedValues}
	if doc.PriorState != nil {
		values = append(values, doc.PriorState.Values)
	}
	for i, vals := range values {
		if vals == nil {
			continue
		}
		for name, o := range vals.Outputs {
			if !o.Sensitive {
				walk("output "+name, o.Value, nil)
			}
		}
		modules := []stateModule{vals.RootModule}
		for len(modules) > 0 {
			m := modules[0]
			modules = append(modules[1:], m.ChildModules...)
			for _, r := range m.Resources {
				marks := r.SensitiveValues
				if a, ok := after[r.Address]; ok && i == 1 {
					marks = a
				}
				walk(r.Address, r.Values, marks)
			}
		}
	}
	for _, rc := range doc.ResourceChanges {
		walk(rc.Address+" (before)", rc.Change.Before, rc.Change.BeforeSensitive)
		walk(rc.Address+" (after)", rc.Change.After, rc.Change.AfterSensitive)
	}
	for name, oc := range doc.OutputChanges {
		walk("output "+name+" (before)", oc.Before, oc.BeforeSensitive)
		walk("output "+name+" (after)", oc.After, oc.AfterSensitive)
	}
	return leaks, nil
}

type changeValues struct {
	Before          any `json:"before"`
	After           any `json:"after"`
	BeforeSensitive any `json:"before_sensitive"`
	AfterSensitive  any `json:"after_sensitive"`
}

type stateValues struct {
	Outputs map[string]struct {
		Sensitive bool `json:"sensitive"`
		Value     any  `json:"value"`
	} `json:"outputs"`
	RootModule stateModule `json:"root_module"`
}

type stateModule struct {
	Resources []struct {
		Address         string `json:"address"`
		Type            string `json:"type"`
		Values          any    `json:"values"`
		SensitiveValues any    `json:"sensitive_values"`
	} `json:"resources"`
	ChildModules []stateModule `json:"child_modules"`
}

// walk calls leak for every secret in a leaf of v that the parallel structure sensitive
// (Terraform's sensitive_values: true at a sensitive value, objects and lists mirroring
// the value) does not mark.
func (s *Scanner) walk(path string, v, sensitive any, leak func(string, secretForm)) {
	walkLeaves(path, v, sensitive, false, func(path, leaf string, marked bool) {
		if !marked {
			for _, f := range s.find(leaf) {
				leak(path, f)
			}
		}
	})
}

// walkLeaves calls fn with every string leaf of v and whether sensitive marks it.
func walkLeaves(path string, v, sensitive any, marked bool, fn func(path, leaf string, marked bool)) {
	if b, ok := sensitive.(bool); ok && b {
		marked = true
	}
	switch v := v.(type) {
	case map[string]any:
		marks, _ := sensitive.(map[string]any)
		for k, x := range v {
			walkLeaves(path+"."+k, x, marks[k], marked, fn)
		}
	case []any:
		marks, _ := sensitive.([]any)
		for i, x := range v {
			var mark any
			if i < len(marks) {
				mark = marks[i]
			}
			walkLeaves(fmt.Sprintf("%s[%d]", path, i), x, mark, marked, fn)
		}
	case string:
		fn(path, v, marked)
	}
}

// SensitiveStrings returns the string values that the state of `terraform show -json`
// marks sensitive in the resources of type resourceType, by path (address.attribute...).
func SensitiveStrings(showJSON []byte, resourceType string) (map[string]string, error) {
	var doc struct {
		Values *stateValues `json:"values"`
	}
	if err := json.Unmarshal(showJSON, &doc); err != nil {
		return nil, fmt.Errorf("not the JSON of terraform show -json: %w", err)
	}
	out := map[string]string{}
	if doc.Values == nil {
		return out, nil
	}
	modules := []stateModule{doc.Values.RootModule}
	for len(modules) > 0 {
		m := modules[0]
		modules = append(modules[1:], m.ChildModules...)
		for _, r := range m.Resources {
			if r.Type != resourceType {
				continue
			}
			walkLeaves(r.Address, r.Values, r.SensitiveValues, false, func(path, leaf string, marked bool) {
				if marked {
					out[path] = leaf
				}
			})
		}
	}
	return out, nil
}

// find returns the first form of every source found in text.
func (s *Scanner) find(text string) []secretForm {
	var found []secretForm
	sources := map[string]bool{}
	for _, f := range s.forms {
		if !sources[f.source] && strings.Contains(text, f.text) {
			sources[f.source] = true
			found = append(found, f)
		}
	}
	return found
}
