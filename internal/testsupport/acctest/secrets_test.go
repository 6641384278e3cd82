package acctest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const (
	plantedPassword = "s3cr3t-Pl4nted-Passw0rd-x9"
	plantedKey      = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPlantedKeyMaterialLineOneAbCdEfGhIjKlMnOpQrStUvWxYz\noAoGCCqGSM49AwEHoUQDQgAEPlantedKeyMaterialLineTwo0123456789abcd\n-----END EC PRIVATE KEY-----\n"
)

func plantedScanner(t *testing.T) *Scanner {
	t.Helper()
	var s Scanner
	if err := s.Add("the planted password", plantedPassword); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("the planted key", plantedKey); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestScanner_text(t *testing.T) {
	t.Parallel()
	yaml := "clouds:\n  prod:\n    auth:\n      password: " + plantedPassword + "\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"none", "2026-12-05T20:00:00Z [TRACE] provider: Received request: tf_rpc=ApplyResourceChange\n", ""},
		{"password in a log line", "line one\n[DEBUG] provider: values: password=" + plantedPassword + "\n", "trace log, line 2 holds the planted password (value)"},
		{"key in a %q field", fmt.Sprintf("[TRACE] key=%q", plantedKey), "trace log, line 1 holds the planted key (escaped)"},
		{"key line in output", "client-key: " + strings.Split(plantedKey, "\n")[2], "trace log, line 1 holds the planted key (line 3)"},
		{"password inside base64", "data: " + base64.StdEncoding.EncodeToString([]byte(yaml)), "trace log, line 1 holds the planted password (base64)"},
		{"password inside base64 at offset 1", "data: " + base64.StdEncoding.EncodeToString([]byte("x"+yaml)), "trace log, line 1 holds the planted password (base64)"},
		{"password inside base64 at offset 2", "data: " + base64.StdEncoding.EncodeToString([]byte("xy"+yaml)), "trace log, line 1 holds the planted password (base64)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := plantedScanner(t)
			leaks := s.Text("trace log", []byte(tc.text))
			got := ""
			if len(leaks) > 0 {
				got = leaks[0].String()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q (all: %v)", got, tc.want, leaks)
			}
			for _, l := range leaks {
				if strings.Contains(l.String(), plantedPassword) || strings.Contains(l.String(), "PlantedKeyMaterial") {
					t.Errorf("the report prints the secret: %s", l)
				}
			}
			if s.Scanned != int64(len(tc.text)) {
				t.Errorf("scanned %d bytes, want %d", s.Scanned, len(tc.text))
			}
		})
	}
}

func TestScanner_state(t *testing.T) {
	t.Parallel()
	state := func(values, sensitive any, outputs map[string]any) []byte {
		b, err := json.Marshal(map[string]any{
			"values": map[string]any{
				"outputs": outputs,
				"root_module": map[string]any{
					"child_modules": []any{map[string]any{"resources": []any{map[string]any{
						"address": "module.m.qumulus_openstack.test", "values": values, "sensitive_values": sensitive,
					}}}},
				},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name              string
		values, sensitive any
		outputs           map[string]any
		want              []string
	}{
		{"sensitive attribute", map[string]any{"admin_password": plantedPassword}, map[string]any{"admin_password": true}, nil, nil},
		{"sensitive map", map[string]any{"generated_credentials": map[string]any{"identity/admin": plantedPassword}},
			map[string]any{"generated_credentials": true}, nil, nil},
		{"sensitive map entry", map[string]any{"labels": map[string]any{"a": plantedPassword, "b": plantedPassword}},
			map[string]any{"labels": map[string]any{"a": true}}, nil,
			[]string{"state: module.m.qumulus_openstack.test.labels.b holds the planted password (value)"}},
		{"plain attribute", map[string]any{"releases": map[string]any{"keystone": map[string]any{"status": "x " + plantedPassword}}},
			map[string]any{}, nil, []string{"state: module.m.qumulus_openstack.test.releases.keystone.status holds the planted password (value)"}},
		{"list entry", map[string]any{"values": []any{"a", plantedKey}}, map[string]any{"values": []any{false, false}}, nil,
			[]string{"state: module.m.qumulus_openstack.test.values[1] holds the planted key (value)"}},
		{"output", map[string]any{}, map[string]any{},
			map[string]any{"shown": map[string]any{"value": plantedPassword}, "hidden": map[string]any{"value": plantedPassword, "sensitive": true}},
			[]string{"state: output shown holds the planted password (value)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := plantedScanner(t)
			leaks, err := s.State("state", state(tc.values, tc.sensitive, tc.outputs))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range leaks {
				got = append(got, l.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScanner_plan(t *testing.T) {
	t.Parallel()
	s := plantedScanner(t)
	plan := fmt.Sprintf(`{"resource_changes":[{"address":"qumulus_tenant.t","change":{"before":null,"after":{"a":%q,"b":%q},"after_sensitive":{"a":true}}}],
"output_changes":{"o":{"before":null,"after":%q,"after_sensitive":false}}}`, plantedPassword, plantedPassword, plantedPassword)
	leaks, err := s.State("plan", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range leaks {
		got = append(got, l.Where)
	}
	if want := "plan: qumulus_tenant.t (after).b plan: output o (after)"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestScanner_addRefusesShortSecrets(t *testing.T) {
	t.Parallel()
	var s Scanner
	if err := s.Add("a short one", "hunter2"); err == nil {
		t.Error("a 7-character secret was accepted")
	}
	if err := s.Add("a password", plantedPassword, plantedPassword); err != nil {
		t.Fatal(err)
	}
	if n, m := s.Figures(); n != 1 || m != 1 {
		t.Errorf("figures %d secrets from %d sources, want 1 from 1", n, m)
	}
}

func TestBase64Core(t *testing.T) {
	t.Parallel()
	v := "0123456789abcdefghij"
	for k := range 3 {
		for pre := range 6 {
			doc := strings.Repeat("p", pre) + v + "suffix"
			if (pre-k)%3 != 0 {
				continue
			}
			if !strings.Contains(base64.StdEncoding.EncodeToString([]byte(doc)), base64Core(v, k)) {
				t.Errorf("offset %d: the core for alignment %d is not in the encoding", pre, k)
			}
		}
	}
}

func TestSensitiveStrings(t *testing.T) {
	t.Parallel()
	state := `{"values":{"root_module":{"resources":[
{"address":"qumulus_openstack.test","type":"qumulus_openstack","values":{"admin_password":"pw","generated_credentials":{"a":"x","b":"y"},"keystone_url":"http://k"},
 "sensitive_values":{"admin_password":true,"generated_credentials":true}},
{"address":"qumulus_tenant.t","type":"qumulus_tenant","values":{"name":"n"},"sensitive_values":{"name":true}}]}}}`
	got, err := SensitiveStrings([]byte(state), "qumulus_openstack")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"qumulus_openstack.test.admin_password": "pw", "qumulus_openstack.test.generated_credentials.a": "x",
		"qumulus_openstack.test.generated_credentials.b": "y",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestScanner_textReportsEveryLineOnce(t *testing.T) {
	t.Parallel()
	s := plantedScanner(t)
	text := "a\n" + plantedPassword + " " + plantedPassword + "\nb\nkey=" + strings.Split(plantedKey, "\n")[1] + " " + plantedPassword + "\n"
	var got []string
	for _, l := range s.Text("log", []byte(text)) {
		got = append(got, l.String())
	}
	want := []string{
		"log, line 2 holds the planted password (value)",
		"log, line 4 holds the planted key (line 2)",
		"log, line 4 holds the planted password (value)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestScanner_plannedValuesTakeTheChangesMarks(t *testing.T) {
	t.Parallel()
	s := plantedScanner(t)
	plan := fmt.Sprintf(`{"planned_values":{"root_module":{"resources":[{"address":"qumulus_openstack.t","values":{"admin_password":%q,"keystone_url":%q},"sensitive_values":{}}]}},
"resource_changes":[{"address":"qumulus_openstack.t","change":{"before":null,"after":{"admin_password":%q},"after_sensitive":{"admin_password":true}}}]}`,
		plantedPassword, plantedPassword, plantedPassword)
	leaks, err := s.State("plan", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range leaks {
		got = append(got, l.Where)
	}
	if want := "plan: qumulus_openstack.t.keystone_url"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
