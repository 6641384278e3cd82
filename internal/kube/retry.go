package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
)

// RetryPolicy retries the requests a busy or restarting API server fails for reasons that
// pass: every client NewClients builds sends its requests through it.
//
// client-go itself waits and retries (up to 10 times) a 429 or 5xx that carries a
// Retry-After header, as the API server's priority and fairness sends; RetryPolicy leaves
// those to it. It retries, waiting Backoff between attempts and never past the request's
// context (the operation's Terraform timeout):
//
//   - a connection that could not be made (refused, dial timeout), any request: nothing
//     reached the server;
//   - 429 Too Many Requests without Retry-After, any request: the server refused it
//     before doing anything;
//   - 500, 502, 503 and 504 without Retry-After (an etcd timeout, "the server is currently
//     unable to handle the request", a load balancer before a restarting server), and a
//     connection reset or closed before the answer, for requests that can be repeated:
//     GET, HEAD, PUT, DELETE and PATCH other than a JSON patch. A create (POST) may have
//     been carried out before the failure, so it is not repeated: its error reaches the
//     caller, which can read back what it created (see AnnotationCreateRequest);
//   - 409 Conflict on a forced server-side apply without a resource version, which the
//     API server reports when the object changed while it applied: applying again applies
//     to the new object. A 409 that reports a field manager conflict, a failed
//     precondition or a stale resource version is the caller's to resolve, not retried.
type RetryPolicy struct {
	// Backoff is the wait before each retry; Steps is the most retries.
	Backoff wait.Backoff
}

// DefaultRetryPolicy waits 250 ms, doubling to at most 8 s, for up to 8 retries: about
// 30 s in all, bounded by the operation's timeout.
var DefaultRetryPolicy = RetryPolicy{Backoff: wait.Backoff{
	Duration: 250 * time.Millisecond,
	Factor:   2,
	Jitter:   0.2,
	Steps:    8,
	Cap:      8 * time.Second,
}}

// Wrap returns rt with the policy applied, for rest.Config.Wrap.
func (p RetryPolicy) Wrap(rt http.RoundTripper) http.RoundTripper {
	return &retryTransport{next: rt, policy: p}
}

type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	backoff := t.policy.Backoff
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.next.RoundTrip(r)
		reason := retryReason(req, resp, err)
		if reason == "" {
			return resp, err
		}
		fields := map[string]any{"method": req.Method, "path": req.URL.Path, "attempt": attempt, "reason": reason}
		if backoff.Steps <= 0 || ctx.Err() != nil {
			tflog.Warn(ctx, "Kubernetes API request failed; not retrying further", fields)
			return resp, giveUp(req, attempt, err)
		}
		wait := backoff.Step()
		fields["wait"] = wait.String()
		tflog.Debug(ctx, "Kubernetes API request failed; retrying", fields)
		if resp != nil {
			discard(resp)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			tflog.Warn(ctx, "Kubernetes API request failed; the operation ended before a retry", fields)
			if err == nil {
				err = ctx.Err()
			}
			return nil, giveUp(req, attempt, err)
		case <-timer.C:
		}
	}
}

// NoAnswerError is a request the API server did not answer, even after the retries: no
// connection, or one that broke before the answer. Host tells which API server (the
// management cluster's or a tenant cluster's) it was.
type NoAnswerError struct {
	// Host is the API server's scheme and host, e.g. https://10.0.0.1:6443.
	Host         string
	Method, Path string
	Attempts     int
	Err          error
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("%s %s failed after %d attempts: %v", e.Method, e.Path, e.Attempts, e.Err)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// giveUp names the request in a transport error (a status response keeps its own error:
// the caller names the object).
func giveUp(req *http.Request, attempts int, err error) error {
	if err == nil {
		return nil
	}
	return &NoAnswerError{Host: req.URL.Scheme + "://" + req.URL.Host, Method: req.Method, Path: req.URL.Path, Attempts: attempts, Err: err}
}

// rewind copies req with a fresh body for another attempt.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("%s %s: rewinding the request body for a retry: %w", req.Method, req.URL.Path, err)
	}
	r.Body = body
	return r, nil
}

// discard reads what is left of a failed response (so that its connection is reused) and
// closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// retryReason says why the outcome of req is worth another attempt, or "" when it is not.
func retryReason(req *http.Request, resp *http.Response, err error) string {
	if req.Context().Err() != nil {
		return ""
	}
	// A request whose body cannot be sent again is not repeated.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return ""
	}
	if err != nil {
		var op *net.OpError
		switch {
		case errors.As(err, &op) && op.Op == "dial":
			return "connection not established: " + err.Error()
		case !repeatable(req):
			return ""
		case utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err), utilnet.IsHTTP2ConnectionLost(err):
			return "connection lost: " + err.Error()
		}
		return ""
	}
	if resp.Header.Get("Retry-After") != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		// client-go waits as long as the server asks and retries.
		return ""
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return resp.Status
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if repeatable(req) {
			return resp.Status
		}
	case http.StatusConflict:
		if forcedApply(req) && modifiedConflict(resp) {
			return resp.Status + ": the object changed during a forced apply"
		}
	}
	return ""
}

// repeatable reports whether sending req twice does what sending it once does.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPatch:
		// A JSON patch (RFC 6902) may add to a list each time; merge, strategic merge and
		// apply patches state the result.
		return !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json-patch+json")
	}
	return false
}

// forcedApply reports whether req is a server-side apply that takes ownership of every
// field it sends: it cannot meet a field manager conflict.
func forcedApply(req *http.Request) bool {
	return req.Method == http.MethodPatch &&
		strings.HasPrefix(req.Header.Get("Content-Type"), "application/apply-patch") &&
		req.URL.Query().Get("force") == "true"
}

// modifiedConflict reports whether resp is a 409 about a concurrent change ("the object
// has been modified"), not about field managers. It restores resp's body.
func modifiedConflict(resp *http.Response) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	var status metav1.Status
	if json.Unmarshal(body, &status) != nil || status.Reason != metav1.StatusReasonConflict {
		return false
	}
	if status.Details != nil {
		for _, c := range status.Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				return false
			}
		}
	}
	return strings.Contains(status.Message, "the object has been modified")
}
