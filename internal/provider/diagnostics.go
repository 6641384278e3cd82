package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
	"github.com/qumulus/terraform-provider-qumulus/internal/validators"
)

// What an operation was doing, as diagnostics and logs say it.
const (
	actionCreating    = "creating"
	actionUpdating    = "updating"
	actionPreparing   = "preparing"
	actionReading     = "reading"
	actionReadingBack = "reading back"
)

// objectErrors words the diagnostics of the errors every domain package shares (package
// kube) for one kind of object.
type objectErrors struct {
	// title starts the summaries, e.g. "Worker Pool"; subject names the object in details,
	// e.g. "worker pool tenant-a/workers"; importID is the ID to import it with.
	title, subject, importID string
	// namespaceAdvice says how to order the object after its namespace.
	namespaceAdvice string
	// unsupportedTitle and unsupportedAdvice word a field the installed CRD does not know.
	unsupportedTitle, unsupportedAdvice string
	// notReady words a wait that timed out: its summary and detail.
	notReady func(e *kube.NotReadyError) (summary, detail string)
	// stuck words a delete that timed out.
	stuck func(e *kube.StuckError) (summary, detail string)
}

// add reports err, an error of a domain package about the object.
func (t objectErrors) add(diags *diag.Diagnostics, host, action string, timeout time.Duration, err error) {
	var (
		missing     *kube.NamespaceMissingError
		exists      *kube.ExistsError
		unsupported *kube.UnsupportedFieldError
		notReady    *kube.NotReadyError
		stuck       *kube.StuckError
		objErr      *kube.ObjectError
		unreachable *kube.UnreachableError
	)
	switch {
	case errors.Is(err, context.Canceled):
		diags.AddError(t.title+" Interrupted",
			fmt.Sprintf("Terraform was interrupted while %s %s. %s Apply again to finish the job.\n\n%s",
				action, t.subject, interruptedAdvice(action), err))
	case errors.As(err, &unreachable):
		waited := t.subject
		if errors.As(err, &notReady) {
			waited = fmt.Sprintf("%s (last seen: %s)", notReady.Object, notReady.Last)
		}
		limit := "the wait ended"
		if name := timeoutName(action); name != "" {
			limit = fmt.Sprintf("the %s timeout (timeouts.%s) ended", timeout, name)
		}
		diags.AddError("Management Cluster Unreachable",
			fmt.Sprintf("The API server at %s stopped answering at %s while the provider was %s %s and waited for %s, and "+
				"had not answered again when %s. %s Check that the API server is running and reachable from where Terraform "+
				"runs, then apply again.\n\n%s",
				host, unreachable.Since.UTC().Format(time.TimeOnly+" UTC"), action, t.subject, waited, limit, interruptedAdvice(action), unreachable))
	case errors.As(err, &missing):
		diags.AddAttributeError(path.Root("namespace"), "Tenant Namespace Not Found",
			fmt.Sprintf("Namespace %s does not exist in the management cluster at %s, so %s cannot be made in it. %s",
				missing.Namespace, host, t.subject, t.namespaceAdvice))
	case errors.As(err, &exists):
		who := "It was not made by this provider"
		if exists.Managed {
			who = "It carries this provider's labels: it is probably in another Terraform state, or a state was lost"
		}
		diags.AddError(t.title+" Already Exists",
			fmt.Sprintf("Cannot create %s: %s already exists. %s. Import it (`terraform import <address> %s`) or choose another name.",
				t.subject, exists.Object, who, t.importID))
	case errors.As(err, &unsupported) && t.unsupportedTitle != "":
		diags.AddError(t.unsupportedTitle,
			fmt.Sprintf("The management cluster at %s refused %s: the %s CRD installed there does not know a field the "+
				"configuration sets. %s\n\n%s", host, t.subject, unsupported.Object, t.unsupportedAdvice, unsupported.Err))
	case errors.As(err, &notReady) && t.notReady != nil:
		diags.AddError(t.notReady(notReady))
	case errors.As(err, &stuck) && t.stuck != nil:
		diags.AddError(t.stuck(stuck))
	case errors.Is(err, context.DeadlineExceeded) && timeoutName(action) == "":
		diags.AddError(t.title+" Timed Out",
			fmt.Sprintf("%s %s did not finish in time. Check the API server at %s.\n\n%s", capitalize(action), t.subject, host, err))
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError(t.title+" Timed Out",
			fmt.Sprintf("%s %s did not finish within %s. Raise timeouts.%s or check the API server at %s.\n\n%s",
				capitalize(action), t.subject, timeout, timeoutName(action), host, err))
	case errors.As(err, &objErr):
		addAPIError(diags, host, fmt.Sprintf("%s %s of %s", objErr.Action, objErr.Object, t.subject), objErr.Err)
	default:
		addAPIError(diags, host, action+" "+t.subject, err)
	}
}

// interruptedAdvice says what the state holds after an operation that could not finish:
// a create leaves what it made tainted, an update what it applied.
func interruptedAdvice(action string) string {
	if action == actionCreating {
		return "What was made is saved in the state, tainted as every create that did not finish: the next apply replaces it. " +
			"To keep it instead, run `terraform untaint <address>` before that apply."
	}
	return "The state keeps what was applied; the next apply checks the objects again."
}

// untaintAdvice says what happens after a wait for readiness timed out: a create leaves
// the object tainted, an update leaves it applied.
func untaintAdvice(action, noun, watch string) string {
	if action == actionCreating {
		return fmt.Sprintf("The %s is saved as tainted: the next apply replaces it. To keep it and wait again instead, run "+
			"`terraform untaint <address>` and apply (raise timeouts.create if it needs longer).", noun)
	}
	return fmt.Sprintf("The configuration is applied and saved; the next plan will not wait again. Watch %s "+
		"(raise timeouts.update for next time), or set wait_for_ready = false.", watch)
}

// timeoutName is the timeouts attribute that bounds action, "" for what no configured
// timeout bounds (a refresh, an import, a read-back).
func timeoutName(action string) string {
	switch action {
	case actionCreating:
		return "create"
	case actionUpdating, actionPreparing:
		return "update"
	case "deleting":
		return "delete"
	}
	return ""
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// validateString runs a schema validator on a value that does not come from the
// configuration (an import ID, an element checked across attributes).
func validateString(ctx context.Context, v validator.String, at path.Path, value types.String, diags *diag.Diagnostics) {
	var resp validator.StringResponse
	v.ValidateString(ctx, validator.StringRequest{Path: at, ConfigValue: value}, &resp)
	diags.Append(resp.Diagnostics...)
}

// importNamespacedID splits an import ID <namespace>/<name>, checking both parts; ok is
// false (with an error whose detail is usage) when it does not fit.
func importNamespacedID(ctx context.Context, id string, name validator.String, usage string, diags *diag.Diagnostics) (namespace, n string, ok bool) {
	namespace, n, ok = strings.Cut(id, "/")
	var d diag.Diagnostics
	validateString(ctx, validators.DNS1123Label(), path.Root("namespace"), types.StringValue(namespace), &d)
	validateString(ctx, name, path.Root("name"), types.StringValue(n), &d)
	diags.Append(d...)
	if !ok || d.HasError() {
		diags.AddError("Invalid Import ID", fmt.Sprintf("%s; got %q.", usage, id))
		return "", "", false
	}
	return namespace, n, true
}

// addAPIError reports a failed call to the management cluster: what was attempted, the
// likely cause and the original error.
func addAPIError(diags *diag.Diagnostics, host, attempted string, err error) {
	switch {
	case apierrors.IsUnauthorized(err):
		diags.AddError("Management Cluster Credentials Rejected",
			fmt.Sprintf("The API server at %s rejected the provider's credentials while %s. Check the token, client "+
				"certificate or exec plugin in the qumulus provider configuration; they may have expired.\n\n%s", host, attempted, err))
	case apierrors.IsForbidden(err):
		diags.AddError("Management Cluster Access Denied",
			fmt.Sprintf("The API server at %s authenticated the provider but denied it while %s. Grant the provider's "+
				"user the RBAC permissions named below.\n\n%s", host, attempted, err))
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		diags.AddError("Management Cluster Rejected The Object",
			fmt.Sprintf("The API server at %s refused the object while %s: the configuration asks for something it does not "+
				"accept (its message below names the field). Correct the configuration and apply again.\n\n%s", host, attempted, err))
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
		diags.AddError("Management Cluster Object Changed Meanwhile",
			fmt.Sprintf("Someone else changed or created the object on the API server at %s while %s. Apply again; if it "+
				"keeps happening, find the other writer.\n\n%s", host, attempted, err))
	case isAPIStatus(err):
		diags.AddError("Management Cluster API Error",
			fmt.Sprintf("The API server at %s answered with an error while %s.\n\n%s", host, attempted, err))
	default:
		diags.AddError("Management Cluster Unreachable",
			fmt.Sprintf("The API server at %s did not answer while %s. Check that it is running and reachable from "+
				"where Terraform runs, and the provider's host and CA settings.\n\n%s", host, attempted, err))
	}
}

// isAPIStatus reports whether err is an answer of the API server (as opposed to no answer).
func isAPIStatus(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}
