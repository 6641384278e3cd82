package provider

// Plan-time dry runs (the provider's plan_dry_run setting): a create or an in-place change
// of a tenant, cluster or worker pool sends the objects its apply would write as a
// server-side apply with dryRun=All, and what the management cluster refuses becomes a
// plan diagnostic on the attribute the refused field comes from.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// errSpecNotReady skips a dry run whose planned model does not convert to objects: the
// conversion's own diagnostics are reported by the apply.
var errSpecNotReady = errors.New("the planned configuration does not convert to objects yet")

// planDryRunTimeout bounds the dry run of one resource at plan time.
const planDryRunTimeout = 30 * time.Second

// planDryRuns is the state of one provider run's dry runs: switched off by the
// configuration, or after a dry run found that none can succeed (the API server does not
// answer, or the credentials may not write), so that a plan of many resources waits for
// that once, not once per resource.
type planDryRuns struct {
	enabled bool

	mu  sync.Mutex
	off string
}

// active reports whether dry runs are to be made.
func (p *planDryRuns) active() bool {
	if p == nil || !p.enabled {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.off == ""
}

// failed handles a dry run of the noun id that could not be made: err says nothing about
// the configuration, so the plan goes on. A failure every later dry run would meet too
// switches them off for the rest of the run, with one warning.
func (p *planDryRuns) failed(ctx context.Context, noun, id string, err error) {
	var objErr *kube.ObjectError
	if !errors.As(err, &objErr) {
		// Preparing the objects failed (a namespace or cluster the same apply makes, a
		// version the same apply upgrades to): the apply checks that again.
		tflog.Debug(ctx, "plan dry run skipped: the planned objects cannot be prepared yet", map[string]any{noun: id, "reason": err.Error()})
		return
	}
	reason := ""
	switch {
	case !isAPIStatus(objErr.Err):
		reason = "the management cluster did not answer"
	case apierrors.IsUnauthorized(err), apierrors.IsForbidden(err):
		reason = "the management cluster refused the provider's credentials (a dry run needs the permissions of the write)"
	default:
		tflog.Warn(ctx, "plan dry run skipped: it could not be made", map[string]any{noun: id, "error": err.Error()})
		return
	}
	p.mu.Lock()
	first := p.off == ""
	if first {
		p.off = reason
	}
	p.mu.Unlock()
	if first {
		tflog.Warn(ctx, "plan dry runs switched off for this run: "+reason+"; the plan goes on without them (set plan_dry_run = false to skip them)",
			map[string]any{noun: id, "error": err.Error()})
	}
}

// dryRunPlan is the dry run of ModifyPlan, called at its end with resp.Plan set: when
// plan_dry_run is on, the plan creates or changes the resource in place (never when plan
// equals state, so a plan without changes makes no request) and the whole configuration
// is known, run prepares the planned objects with a client for reads and sends them with
// dryRun=All. Refusals become diagnostics on the attributes fields maps them to; any
// other failure skips the check.
func (l *lifecycle[M, C, W]) dryRunPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan *M,
	fields objectFields, run func(context.Context, C) (kube.DryRunResult, error)) {
	if resp.Diagnostics.HasError() || req.Plan.Raw.IsNull() || l.data == nil || !l.data.dryRuns.active() {
		return
	}
	if !req.State.Raw.IsNull() && resp.Plan.Raw.Equal(req.State.Raw) {
		return
	}
	// A replacement deletes the objects and makes them anew: checked against the old ones,
	// they would meet the rules of an update (immutable fields) that do not apply.
	if len(resp.RequiresReplace) > 0 || replacing(ctx, l.schema(ctx), req) {
		return
	}
	id := l.id(plan)
	if !req.Config.Raw.IsFullyKnown() {
		tflog.Debug(ctx, "plan dry run skipped: the configuration is not fully known", map[string]any{l.noun: id})
		return
	}
	clients, err := l.data.management.Clients()
	if err != nil {
		tflog.Debug(ctx, "plan dry run skipped: no management cluster connection", map[string]any{l.noun: id, "reason": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, planDryRunTimeout)
	defer cancel()
	if req.State.Raw.IsNull() {
		ctx = kube.Creating(ctx)
	}
	result, err := run(ctx, l.newClient(clients.ForRead()))
	var refused *kube.RefusedError
	switch {
	case errors.As(err, &refused):
		addRefusals(&resp.Diagnostics, clients.REST.Host, l.noun+" "+id, fields, refused)
	case err != nil:
		l.data.dryRuns.failed(ctx, l.noun, id, err)
	default:
		tflog.Debug(ctx, "plan dry run accepted", map[string]any{l.noun: id, "checked": result.Checked})
	}
	if len(result.Skipped) > 0 {
		tflog.Info(ctx, "plan dry run could not check objects whose namespace the apply makes, or that exist already although the plan creates them", map[string]any{l.noun: id, "skipped": result.Skipped})
	}
}

// dryRunOf is the run of dryRunPlan for a model that converts (spec) to the domain
// package's spec S: prepare, when not nil, completes the spec with reads of the management
// cluster as an apply would, and dryRun sends its objects. A model that does not convert
// yet skips the check.
func dryRunOf[C, S any](spec func(context.Context) (S, diag.Diagnostics), prepare func(C, context.Context, *S) error,
	dryRun func(C, context.Context, S) (kube.DryRunResult, error)) func(context.Context, C) (kube.DryRunResult, error) {
	return func(ctx context.Context, c C) (kube.DryRunResult, error) {
		s, diags := spec(ctx)
		if diags.HasError() {
			return kube.DryRunResult{}, errSpecNotReady
		}
		if prepare != nil {
			if err := prepare(c, ctx, &s); err != nil {
				return kube.DryRunResult{}, err
			}
		}
		return dryRun(c, ctx, s)
	}
}

// refusedSummary is the summary of every refusal found by a dry run.
const refusedSummary = "Refused By The Management Cluster"

// addRefusals reports each cause of each refusal, on the attribute its field comes from
// when fields knows it. subject names the resource, e.g. "cluster tenant-a/prod".
func addRefusals(diags *diag.Diagnostics, host, subject string, fields objectFields, err *kube.RefusedError) {
	for _, r := range err.Refusals {
		for _, c := range r.Causes {
			at, ok := fields.attribute(r.Kind, c.Field)
			if !ok && c.Field == "" {
				at, ok = fields.fromMessage(r.Kind, c.Message)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "The management cluster at %s would refuse %s of %s", host, r.Object, subject)
			if c.Field != "" {
				fmt.Fprintf(&b, " (field %s)", c.Field)
			}
			fmt.Fprintf(&b, ": %s\n\n", c.Message)
			if ok {
				fmt.Fprintf(&b, "Change %s to a value the management cluster accepts, then plan again.", at)
			} else {
				b.WriteString("Change the configuration so that the management cluster accepts the object, then plan again.")
			}
			if r.Admission {
				b.WriteString(" The rule is the management cluster's own (an admission webhook or policy): if the value should be " +
					"allowed, ask its operators.")
			}
			fmt.Fprintf(&b, " This was found by a server-side dry run of the planned objects (the provider's plan_dry_run); "+
				"nothing was changed.\n\n%s", r.Err)
			if ok {
				diags.AddAttributeError(at, refusedSummary, b.String())
			} else {
				diags.AddError(refusedSummary, b.String())
			}
		}
	}
}

// objectFields maps the fields of the objects a resource writes to its attributes: per
// kind, a field path as the API server names it, without list indices and map keys
// (spec.networkProfile.clusterDomain, spec.limits.default), to an attribute path
// (network.cluster_domain). An attribute ending in [] is a list whose index the field's
// carries over (files[] for spec.template.spec.files[2].path: files[2]); one ending in {}
// a map whose key it carries over (quota{} for spec.hard[pods]: quota["pods"]). Kind "*"
// holds the fields of every kind, kind "" those of kinds not listed; a field maps through
// its longest listed prefix.
type objectFields map[string]map[string]string

// fieldSegment is one dotted part of a field path with what follows it in brackets.
type fieldSegment struct{ name, key string }

// splitField splits a field path into its parts; dots inside brackets (map keys such as
// requests.cpu) do not split.
func splitField(field string) []fieldSegment {
	var out []fieldSegment
	var name, key strings.Builder
	// depth is the nesting of brackets; groups counts the bracket groups of the current
	// part, of which only the first is kept.
	depth, groups := 0, 0
	flush := func() {
		if name.Len() > 0 || key.Len() > 0 {
			out = append(out, fieldSegment{name.String(), key.String()})
		}
		name.Reset()
		key.Reset()
		groups = 0
	}
	for _, r := range field {
		switch {
		case depth == 0 && r == '[':
			depth, groups = 1, groups+1
		case depth > 0 && r == ']':
			depth--
			if depth > 0 && groups == 1 {
				key.WriteRune(r)
			}
		case depth > 0:
			if r == '[' {
				depth++
			}
			if groups == 1 {
				key.WriteRune(r)
			}
		case r == '.':
			flush()
		default:
			name.WriteRune(r)
		}
	}
	flush()
	return out
}

// attribute maps field of an object of kind to an attribute; ok is false when fields
// lists none of its prefixes.
func (f objectFields) attribute(kind, field string) (path.Path, bool) {
	if field == "" {
		return path.Empty(), false
	}
	segments := splitField(field)
	tables := []map[string]string{f[kind], f["*"]}
	if _, listed := f[kind]; !listed {
		tables = append(tables, f[""])
	}
	best, bestLen := "", 0
	for _, table := range tables {
		for prefix, attr := range table {
			parts := strings.Split(prefix, ".")
			if len(parts) <= bestLen || len(parts) > len(segments) {
				continue
			}
			match := true
			for i, p := range parts {
				if segments[i].name != p {
					match = false
					break
				}
			}
			if match {
				best, bestLen = attr, len(parts)
			}
		}
	}
	if bestLen == 0 {
		return path.Empty(), false
	}
	return attributePath(best, segments[bestLen-1].key), true
}

// attributePath parses an attribute path of objectFields; key is the index or map key of
// the field's last matched part.
func attributePath(attr, key string) path.Path {
	parts := strings.Split(attr, ".")
	p := path.Empty()
	for i, part := range parts {
		list, isMap := strings.HasSuffix(part, "[]"), strings.HasSuffix(part, "{}")
		part = strings.TrimSuffix(strings.TrimSuffix(part, "[]"), "{}")
		if i == 0 {
			p = path.Root(part)
		} else {
			p = p.AtName(part)
		}
		if i < len(parts)-1 || key == "" {
			continue
		}
		if n, err := strconv.Atoi(key); list && err == nil {
			p = p.AtListIndex(n)
		} else if isMap {
			p = p.AtMapKey(key)
		}
	}
	return p
}

// fieldInMessage finds dotted paths in a message, e.g. object.metadata.labels in a
// ValidatingAdmissionPolicy's "failed expression: object.metadata.labels['env'] != 'x'".
var fieldInMessage = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+`)

// fromMessage maps the first field a message names to an attribute: for refusals that
// name no field (admission webhooks and policies), whose message or CEL expression often
// does. The CEL variables object, oldObject and self are dropped from the path.
func (f objectFields) fromMessage(kind, message string) (path.Path, bool) {
	for _, m := range fieldInMessage.FindAllString(message, -1) {
		for _, prefix := range []string{"object.", "oldObject.", "self."} {
			m = strings.TrimPrefix(m, prefix)
		}
		if at, ok := f.attribute(kind, m); ok {
			return at, true
		}
	}
	return path.Empty(), false
}
