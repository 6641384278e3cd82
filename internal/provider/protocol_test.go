package provider

// A harness that drives the provider through the plugin protocol the way Terraform does,
// against a management cluster answered from memory, so that the provider's own cost (the
// framework's conversions, validators, plan modifiers and logging included) and the
// requests it makes can be measured without an API server.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// memoryAPI answers GETs of single objects from memory, 404 for any other object, and
// records every request. It stands in for the management cluster's API server. A
// dry-run PATCH (recorded with its ?dryRun=All) is accepted, or answered with the error
// refusals holds for its path; other writes are refused with 405.
type memoryAPI struct {
	mu       sync.Mutex
	objects  map[string][]byte
	refusals map[string]*apierrors.StatusError
	requests []string
}

func newMemoryAPI() *memoryAPI { return &memoryAPI{objects: map[string][]byte{}} }

// put stores obj (marshalled to JSON) at the URL path a GET reads it from, e.g.
// /api/v1/namespaces/a/secrets/b.
func (m *memoryAPI) put(path string, obj any) {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[path] = b
}

// wrap is the provider's transport wrapper: every request goes to m.
func (m *memoryAPI) wrap(http.RoundTripper) http.RoundTripper { return m }

func (m *memoryAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	dryRun := r.Method == http.MethodPatch && r.URL.Query().Get("dryRun") == "All"
	m.mu.Lock()
	what := r.Method + " " + r.URL.Path
	if dryRun {
		what += "?dryRun=All"
	}
	m.requests = append(m.requests, what)
	body, ok := m.objects[r.URL.Path]
	refusal := m.refusals[r.URL.Path]
	m.mu.Unlock()
	status := http.StatusOK
	switch {
	case dryRun && refusal != nil:
		status = int(refusal.ErrStatus.Code)
		refused := refusal.ErrStatus
		refused.Kind, refused.APIVersion = "Status", "v1"
		body, _ = json.Marshal(refused)
	case dryRun:
		body = []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"dry-run"}}`)
	case r.Method != http.MethodGet || !ok:
		status = http.StatusNotFound
		if r.Method != http.MethodGet {
			status = http.StatusMethodNotAllowed
		}
		parts := strings.Split(r.URL.Path, "/")
		notFound := apierrors.NewNotFound(schema.GroupResource{Resource: parts[len(parts)-2]}, parts[len(parts)-1]).ErrStatus
		notFound.Kind, notFound.APIVersion = "Status", "v1"
		body, _ = json.Marshal(notFound)
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": []string{"application/json"}},
		Body:    io.NopCloser(bytes.NewReader(body)),
		Request: r, ContentLength: int64(len(body)),
	}, nil
}

// take returns the requests made since the last call.
func (m *memoryAPI) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.requests
	m.requests = nil
	return r
}

// protocolProvider is a configured provider behind the plugin protocol, as Terraform
// talks to it, with every request to the management cluster going to api.
type protocolProvider struct {
	tfprotov6.ProviderServer
	schemas map[string]*tfprotov6.Schema
}

func newProtocolProvider(tb testing.TB, api *memoryAPI) *protocolProvider {
	tb.Helper()
	return newProtocolProviderWith(tb, api, nil)
}

// newProtocolProviderWith is newProtocolProvider with further provider settings.
func newProtocolProviderWith(tb testing.TB, api *memoryAPI, settings map[string]tftypes.Value) *protocolProvider {
	tb.Helper()
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(&qumulusProvider{version: "test", wrapTransport: api.wrap})()
	if err != nil {
		tb.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "GetProviderSchema", schemas.Diagnostics)
	providerType := schemas.Provider.ValueType().(tftypes.Object)
	attrs := map[string]tftypes.Value{
		"host":  tftypes.NewValue(tftypes.String, "https://management.invalid"),
		"token": tftypes.NewValue(tftypes.String, "token"),
		// client-go's rate limiter would measure itself, not the provider.
		"qps":   tftypes.NewValue(tftypes.Number, 1e9),
		"burst": tftypes.NewValue(tftypes.Number, 1e9),
	}
	maps.Copy(attrs, settings)
	config := objectOf(providerType, attrs)
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{
		TerraformVersion: "1.5.7", Config: dynamicValue(tb, providerType, config),
	})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "ConfigureProvider", configured.Diagnostics)
	return &protocolProvider{ProviderServer: server, schemas: schemas.ResourceSchemas}
}

// stateType is the type of typeName's state.
func (p *protocolProvider) stateType(typeName string) tftypes.Object {
	return p.schemas[typeName].ValueType().(tftypes.Object)
}

// storedState is a resource's state as Terraform keeps it between runs: JSON, and the
// provider's private state.
type storedState struct {
	json    []byte
	private []byte
}

// importState imports typeName by id and reads it, as `terraform import` does.
func (p *protocolProvider) importState(tb testing.TB, typeName, id string) storedState {
	tb.Helper()
	ctx := context.Background()
	imported, err := p.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: typeName, ID: id})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "ImportResourceState", imported.Diagnostics)
	read, err := p.ReadResource(ctx, &tfprotov6.ReadResourceRequest{
		TypeName: typeName, CurrentState: imported.ImportedResources[0].State, Private: imported.ImportedResources[0].Private,
	})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "ReadResource", read.Diagnostics)
	return storedState{json: stateJSON(tb, p.stateType(typeName), read.NewState), private: read.Private}
}

// refresh is what `terraform plan` does first with each resource in the state: upgrade the
// stored state (same schema version) and read it.
func (p *protocolProvider) refresh(tb testing.TB, typeName string, s storedState) (*tfprotov6.DynamicValue, []byte) {
	ctx := context.Background()
	upgraded, err := p.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
		TypeName: typeName, Version: p.schemas[typeName].Version, RawState: &tfprotov6.RawState{JSON: s.json},
	})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "UpgradeResourceState", upgraded.Diagnostics)
	read, err := p.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: typeName, CurrentState: upgraded.UpgradedState, Private: s.private})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "ReadResource", read.Diagnostics)
	return read.NewState, read.Private
}

// plan is the rest of `terraform plan` for a resource whose configuration matches its
// refreshed state: validate the configuration and plan, with the refreshed state as the
// proposed new state (Terraform's merge of an unchanged configuration into the state).
func (p *protocolProvider) plan(tb testing.TB, typeName string, config, refreshed *tfprotov6.DynamicValue, private []byte) *tfprotov6.PlanResourceChangeResponse {
	ctx := context.Background()
	validated, err := p.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: typeName, Config: config})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "ValidateResourceConfig", validated.Diagnostics)
	planned, err := p.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: typeName, PriorState: refreshed, ProposedNewState: refreshed, Config: config, PriorPrivate: private,
	})
	if err != nil {
		tb.Fatal(err)
	}
	checkDiagnostics(tb, "PlanResourceChange", planned.Diagnostics)
	return planned
}

// configOf is the configuration that produced state: the attributes named in keep (a
// nested attribute as "network.service_type") and null everywhere else.
func configOf(tb testing.TB, t tftypes.Object, state *tfprotov6.DynamicValue, keep ...string) *tfprotov6.DynamicValue {
	tb.Helper()
	v, err := state.Unmarshal(t)
	if err != nil {
		tb.Fatal(err)
	}
	return dynamicValue(tb, t, only(tb, t, v, keep))
}

func only(tb testing.TB, t tftypes.Object, v tftypes.Value, keep []string) tftypes.Value {
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		tb.Fatal(err)
	}
	kept := map[string]tftypes.Value{}
	nested := map[string][]string{}
	for _, k := range keep {
		if name, rest, ok := strings.Cut(k, "."); ok {
			nested[name] = append(nested[name], rest)
		} else {
			kept[k] = attrs[k]
		}
	}
	for name, inner := range nested {
		kept[name] = only(tb, t.AttributeTypes[name].(tftypes.Object), attrs[name], inner)
	}
	return objectOf(t, kept)
}

// objectOf is an object of type t with attrs, null where attrs has none.
func objectOf(t tftypes.Object, attrs map[string]tftypes.Value) tftypes.Value {
	all := make(map[string]tftypes.Value, len(t.AttributeTypes))
	for name, at := range t.AttributeTypes {
		if v, ok := attrs[name]; ok {
			all[name] = v
		} else {
			all[name] = tftypes.NewValue(at, nil)
		}
	}
	return tftypes.NewValue(t, all)
}

func dynamicValue(tb testing.TB, t tftypes.Type, v tftypes.Value) *tfprotov6.DynamicValue {
	tb.Helper()
	dv, err := tfprotov6.NewDynamicValue(t, v)
	if err != nil {
		tb.Fatal(err)
	}
	return &dv
}

// stateJSON is state as Terraform writes it to the state file.
func stateJSON(tb testing.TB, t tftypes.Type, state *tfprotov6.DynamicValue) []byte {
	tb.Helper()
	v, err := state.Unmarshal(t)
	if err != nil {
		tb.Fatal(err)
	}
	plain, err := plainValue(v)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(plain)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func plainValue(v tftypes.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsKnown() {
		return nil, fmt.Errorf("unknown value of type %s in a state", v.Type())
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		err := v.As(&s)
		return s, err
	case t.Is(tftypes.Bool):
		var b bool
		err := v.As(&b)
		return b, err
	case t.Is(tftypes.Number):
		n := new(big.Float)
		err := v.As(&n)
		return json.Number(n.Text('g', -1)), err
	case t.Is(tftypes.Object{}) || t.Is(tftypes.Map{}):
		var m map[string]tftypes.Value
		if err := v.As(&m); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	default:
		var l []tftypes.Value
		if err := v.As(&l); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(l))
		for _, e := range l {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	}
}

func checkDiagnostics(tb testing.TB, call string, diags []*tfprotov6.Diagnostic) {
	tb.Helper()
	var errs []string
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			errs = append(errs, d.Summary+": "+d.Detail)
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		tb.Fatalf("%s: %s", call, strings.Join(errs, "; "))
	}
}

// processCPU is the CPU time the test process has used, on every core: with other work on
// the machine it varies less than the wall-clock ns/op.
func processCPU() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// benchmarkProvider runs op b.N times and reports, besides ns/op, the process's CPU time
// and the requests to the management cluster per op.
func benchmarkProvider(b *testing.B, api *memoryAPI, op func()) {
	api.take()
	b.ReportAllocs()
	cpu := processCPU()
	b.ResetTimer()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(api.take()))/float64(b.N), "requests/op")
}
