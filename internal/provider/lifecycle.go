package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// readBackTimeout bounds the read that saves what an apply made, which runs even when
// the apply used up its own timeout.
const readBackTimeout = time.Minute

// lifecycle is the create, read, update and delete flow every resource that manages
// objects in the management cluster shares. A resource embeds it and fills in its steps:
// M is the resource's model, C the client of its domain package and W the status its
// wait for readiness ends with. The flow reads the model, bounds the work by the
// configured timeouts, builds the client, runs the steps, turns their errors into
// diagnostics and saves what the management cluster holds afterwards.
type lifecycle[M, C, W any] struct {
	data *providerData

	// kind is the resource type without the provider's prefix, e.g. worker_pool; noun
	// names one of its objects in logs, e.g. "worker pool".
	kind, noun string
	schema     func(context.Context) schema.Schema
	// create, update and delete are the default timeouts.
	create, update, delete time.Duration

	// newClient builds the domain client on the shared management clients.
	newClient func(*kube.Clients) C
	// timeouts returns the model's timeouts block; id names its object, e.g. tenant-a/prod.
	timeouts func(*M) timeouts.Value
	id       func(*M) string

	// apply makes the live objects what o.plan says (prior is nil on create) and waits for
	// them when the plan asks. It reports failures with o.fail and returns whether the
	// objects exist, so that what they are is saved even after a failure.
	apply func(o *op[M, C, W], prior *M) (exists bool)
	// read reads the live objects into m, which holds the prior state or the plan. waited
	// is the status a successful wait ended with, nil otherwise. An error that wraps
	// kube.ErrNotFound means they are gone.
	read func(ctx context.Context, c C, m *M, waited *W, diags *diag.Diagnostics) error
	// private, when set, returns what of the model the resource keeps in its private
	// state (fields tagged tfsdk:"-", JSON-encoded): Terraform stores it with the state
	// and hands it back on the next read, but shows it nowhere.
	private func(*M) any
	// unread, when set, fills in the computed values of a created model whose objects
	// exist but could not be read back, so that Terraform records them (tainted, as the
	// create failed) instead of losing track of them.
	unread func(m *M)
	// remove deletes the objects of state and waits until they are gone.
	remove func(ctx context.Context, c C, state *M, diags *diag.Diagnostics) error
	// diagnose turns an error of the domain package into diagnostics that name m's object
	// and what the user can do.
	diagnose func(diags *diag.Diagnostics, host string, m *M, action string, timeout time.Duration, err error)
}

// managedResource is what every resource built on lifecycle implements.
type managedResource interface {
	resource.ResourceWithConfigure
	resource.ResourceWithImportState
	resource.ResourceWithModifyPlan
	resource.ResourceWithValidateConfig
}

// op is one create or update under way.
type op[M, C, W any] struct {
	l *lifecycle[M, C, W]
	// ctx is bounded by the operation's timeout.
	ctx     context.Context
	plan    M
	client  C
	host    string
	action  string
	timeout time.Duration
	// waited is what a successful wait ended with.
	waited *W
	diags  *diag.Diagnostics
}

// fail reports err as the operation's failure.
func (o *op[M, C, W]) fail(err error) {
	o.l.diagnose(o.diags, o.host, &o.plan, o.action, o.timeout, err)
}

// info logs a step of the operation at INFO, naming its object.
func (o *op[M, C, W]) info(msg string, fields map[string]any) {
	f := map[string]any{o.l.noun: o.l.id(&o.plan)}
	for k, v := range fields {
		f[k] = v
	}
	tflog.Info(o.ctx, msg, f)
}

// prepared converts the plan to the domain package's spec and runs the domain client's
// checks before an apply: prepare always (it may complete the spec), checkFree only on
// create. ok is false when one of them failed, which is reported.
func prepared[M, C, W, S any](o *op[M, C, W], create bool, spec func(context.Context) (S, diag.Diagnostics),
	prepare func(context.Context, *S) error, checkFree func(context.Context, S) error) (S, bool) {
	s, diags := spec(o.ctx)
	o.diags.Append(diags...)
	if o.diags.HasError() {
		return s, false
	}
	if err := prepare(o.ctx, &s); err != nil {
		o.l.diagnose(o.diags, o.host, &o.plan, actionPreparing, o.timeout, err)
		return s, false
	}
	if create {
		if err := checkFree(o.ctx, s); err != nil {
			o.fail(err)
			return s, false
		}
	}
	return s, true
}

// waitReady runs a wait for readiness, logging at INFO every change of what describe says of
// its status and the end, with the time elapsed. What it ends with is saved as o.waited.
func waitReady[M, C, W any](o *op[M, C, W], what string, describe func(W) string, run func(progress func(W)) (W, error)) error {
	started := time.Now()
	elapsed := func() string { return time.Since(started).Round(time.Second).String() }
	status, err := run(func(s W) {
		o.info("waiting for the "+what, map[string]any{"detail": describe(s), "elapsed": elapsed()})
	})
	if err != nil {
		return err
	}
	o.info(what+" ready", map[string]any{"detail": describe(status), "elapsed": elapsed()})
	o.waited = &status
	return nil
}

func (l *lifecycle[M, C, W]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + l.kind
}

func (l *lifecycle[M, C, W]) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = l.schema(ctx)
}

func (l *lifecycle[M, C, W]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := providerDataFrom(req.ProviderData, &resp.Diagnostics); data != nil {
		l.data = data
	}
}

// stateType is the type of the resource's state (and of its plans and configurations).
func (l *lifecycle[M, C, W]) stateType(ctx context.Context) *stateType {
	return stateTypeOf(ctx, l.kind, l.schema)
}

// client returns the domain client and the management cluster's address for m's object.
func (l *lifecycle[M, C, W]) client(m *M) (C, string, diag.Diagnostics) {
	return l.clientFor(m, false)
}

// readClient is client for a refresh or a plan: its GETs of many objects of one
// namespace are answered by one list (kube.ReadCache).
func (l *lifecycle[M, C, W]) readClient(m *M) (C, string, diag.Diagnostics) {
	return l.clientFor(m, true)
}

func (l *lifecycle[M, C, W]) clientFor(m *M, read bool) (C, string, diag.Diagnostics) {
	var none C
	clients, diags := l.data.managementClients("qumulus_" + l.kind + " " + l.id(m))
	if diags.HasError() {
		return none, "", diags
	}
	if read {
		return l.newClient(clients.ForRead()), clients.REST.Host, nil
	}
	return l.newClient(clients), clients.REST.Host, nil
}

// forgetReads drops what the read clients listed: called around every write, so that no
// read of this provider run is older than its own writes (and the status they lead to).
func (l *lifecycle[M, C, W]) forgetReads() {
	if l.data == nil || l.data.management == nil {
		return
	}
	if clients, err := l.data.management.Clients(); err == nil {
		clients.Reads.Reset()
	}
}

type tfsdkGetter interface {
	Get(context.Context, any) diag.Diagnostics
}

type stateSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// privateState is a resource's private state (the framework's *privatestate.ProviderData).
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// privateKey is the key of the model's private part in the private state.
const privateKey = "model"

// loadPrivate reads the private part of m from p. What cannot be read is left zero: the
// private part only saves requests.
func (l *lifecycle[M, C, W]) loadPrivate(ctx context.Context, p privateState, m *M) {
	if l.private == nil || p == nil {
		return
	}
	if b, diags := p.GetKey(ctx, privateKey); !diags.HasError() && len(b) > 0 {
		_ = json.Unmarshal(b, l.private(m))
	}
}

// savePrivate writes the private part of m to p.
func (l *lifecycle[M, C, W]) savePrivate(ctx context.Context, p privateState, m *M, diags *diag.Diagnostics) {
	if l.private == nil || p == nil {
		return
	}
	b, err := json.Marshal(l.private(m))
	if err != nil {
		diags.AddError("Private State Not Saved", fmt.Sprintf("Encoding the private state of the %s %s failed. This is a bug in "+
			"the provider; please report it.\n\n%s", l.noun, l.id(m), err))
		return
	}
	diags.Append(p.SetKey(ctx, privateKey, b)...)
}

// begin reads the plan (and the private state planned with it, nil on create) and sets
// up an operation bounded by its timeout; nil when that failed (diags say why).
func (l *lifecycle[M, C, W]) begin(ctx context.Context, planned tfsdkGetter, private privateState, action string, diags *diag.Diagnostics) *op[M, C, W] {
	o := &op[M, C, W]{l: l, action: action, diags: diags}
	diags.Append(planned.Get(ctx, &o.plan)...)
	if diags.HasError() {
		return nil
	}
	l.loadPrivate(ctx, private, &o.plan)
	var d diag.Diagnostics
	if action == actionCreating {
		o.timeout, d = l.timeouts(&o.plan).Create(ctx, l.create)
	} else {
		o.timeout, d = l.timeouts(&o.plan).Update(ctx, l.update)
	}
	diags.Append(d...)
	client, host, d := l.client(&o.plan)
	diags.Append(d...)
	if diags.HasError() {
		return nil
	}
	o.client, o.host = client, host
	return o
}

// run applies within the operation's timeout and saves what exists afterwards into the
// state and the private state.
func (l *lifecycle[M, C, W]) run(ctx context.Context, o *op[M, C, W], prior *M, into stateSetter, private privateState) {
	var cancel context.CancelFunc
	o.ctx, cancel = context.WithTimeout(ctx, o.timeout)
	defer cancel()
	l.forgetReads()
	defer l.forgetReads()
	o.info(o.action+" "+l.noun, nil)
	if !l.apply(o, prior) {
		return
	}
	readCtx, cancelRead := context.WithTimeout(context.WithoutCancel(ctx), readBackTimeout)
	defer cancelRead()
	next := o.plan
	err := l.read(readCtx, o.client, &next, o.waited, o.diags)
	switch {
	case errors.Is(err, kube.ErrNotFound):
		if !o.diags.HasError() {
			o.diags.AddError("Object Gone After Apply",
				fmt.Sprintf("The %s %s was applied, but reading it back found it gone: something deleted it meanwhile. Apply again to "+
					"make it anew.\n\n%s", l.noun, l.id(&o.plan), err))
		}
	case err != nil:
		if !o.diags.HasError() {
			l.diagnose(o.diags, o.host, &o.plan, actionReadingBack, readBackTimeout, err)
		}
		if prior == nil {
			// What the create made stays in the state (tainted, as the create failed), so
			// that the next apply replaces it instead of finding its name taken.
			next = o.plan
			if l.unread != nil {
				l.unread(&next)
			}
			o.diags.Append(into.Set(ctx, &next)...)
			if st, ok := into.(*tfsdk.State); ok {
				o.diags.Append(settleUnknowns(st, l.id(&o.plan))...)
			}
		}
	default:
		o.diags.Append(into.Set(ctx, &next)...)
		l.savePrivate(ctx, private, &next, o.diags)
	}
}

func (l *lifecycle[M, C, W]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if o := l.begin(ctx, req.Plan, nil, actionCreating, &resp.Diagnostics); o != nil {
		l.run(ctx, o, nil, &resp.State, resp.Private)
	}
}

func (l *lifecycle[M, C, W]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var prior M
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if o := l.begin(ctx, req.Plan, req.Private, actionUpdating, &resp.Diagnostics); o != nil {
		l.run(ctx, o, &prior, &resp.State, resp.Private)
	}
}

// Read refreshes the state from the live objects, and forgets them when they are gone.
func (l *lifecycle[M, C, W]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state M
	resp.Diagnostics.Append(getModel(ctx, req.State, req.State.Raw, l.stateType(ctx), &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	l.loadPrivate(ctx, req.Private, &state)
	c, host, diags := l.readClient(&state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	next := state
	err := l.read(ctx, c, &next, nil, &resp.Diagnostics)
	if errors.Is(err, kube.ErrNotFound) {
		tflog.Warn(ctx, l.noun+" is gone; removing it from state", map[string]any{l.noun: l.id(&state)})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		l.diagnose(&resp.Diagnostics, host, &state, actionReading, 0, err)
		return
	}
	resp.Diagnostics.Append(l.setModel(ctx, &resp.State, &next)...)
	l.savePrivate(ctx, resp.Private, &next, &resp.Diagnostics)
}

// Delete deletes the objects within the delete timeout and waits until they are gone.
func (l *lifecycle[M, C, W]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := l.timeouts(&state).Delete(ctx, l.delete)
	resp.Diagnostics.Append(diags...)
	c, host, diags := l.client(&state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tflog.Info(ctx, "deleting "+l.noun, map[string]any{l.noun: l.id(&state)})
	l.forgetReads()
	defer l.forgetReads()
	if err := l.remove(ctx, c, &state, &resp.Diagnostics); err != nil {
		l.diagnose(&resp.Diagnostics, host, &state, "deleting", timeout, err)
	}
}

// settleUnknowns makes the values of st that are still unknown null, and an unknown id
// attribute id: Terraform refuses a state with unknown values, and a created object whose
// computed values could not be read back must still be recorded. The next refresh reads
// them.
func settleUnknowns(st *tfsdk.State, id string) diag.Diagnostics {
	var diags diag.Diagnostics
	raw, err := tftypes.Transform(st.Raw, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		if p.Equal(tftypes.NewAttributePath().WithAttributeName("id")) && v.Type().Is(tftypes.String) && id != "" {
			return tftypes.NewValue(tftypes.String, id), nil
		}
		return tftypes.NewValue(v.Type(), nil), nil
	})
	if err != nil {
		diags.AddError("State Not Saved", fmt.Sprintf("Recording %s in the state failed. This is a bug in the provider; please "+
			"report it.\n\n%s", id, err))
		return diags
	}
	st.Raw = raw
	return diags
}

// cachedSchema returns the schema build makes, built on first use.
func cachedSchema(build func(context.Context) schema.Schema) func(context.Context) schema.Schema {
	built := sync.OnceValue(func() schema.Schema { return build(context.Background()) })
	return func(context.Context) schema.Schema { return built() }
}

// setImported writes the attributes an import knows; Read fills in the rest.
func setImported(ctx context.Context, state *tfsdk.State, attrs map[string]any, diags *diag.Diagnostics) {
	for name, v := range attrs {
		diags.Append(state.SetAttribute(ctx, path.Root(name), v)...)
	}
}
