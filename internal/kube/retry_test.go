package kube

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

var tcpGVR = schema.GroupVersionResource{Group: "kamaji.clastix.io", Version: "v1alpha1", Resource: "tenantcontrolplanes"}

// fastRetries is DefaultRetryPolicy's shape with waits short enough for unit tests.
var fastRetries = RetryPolicy{Backoff: wait.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3, Cap: 5 * time.Millisecond}}

// fault answers one request instead of the API server; nil passes it on.
type fault func(w http.ResponseWriter)

func status(code int, reason metav1.StatusReason, message string, causes ...metav1.StatusCause) fault {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		s := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: message}
		if len(causes) > 0 {
			s.Details = &metav1.StatusDetails{Causes: causes}
		}
		_ = json.NewEncoder(w).Encode(s)
	}
}

func withRetryAfter(f fault) fault {
	return func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "0")
		f(w)
	}
}

// reset closes the connection without an answer.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
	}
}

var (
	tooMany        = status(http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "too many requests, please try again later")
	etcdTooMany    = status(http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "etcdserver: too many requests")
	serverTimeout  = status(http.StatusInternalServerError, metav1.StatusReasonServerTimeout, "The operation timed out")
	badGateway     = status(http.StatusBadGateway, "", "bad gateway")
	unavailable    = status(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "the server is currently unable to handle the request")
	requestTimeout = status(http.StatusGatewayTimeout, metav1.StatusReasonTimeout, "Timeout: request did not complete within requested timeout")
	modified       = status(http.StatusConflict, metav1.StatusReasonConflict, `Operation cannot be fulfilled on tenantcontrolplanes.kamaji.clastix.io "prod": the object has been modified; please apply your changes to the latest version and try again`)
	managerClash   = status(http.StatusConflict, metav1.StatusReasonConflict, `Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas`,
		metav1.StatusCause{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl"`, Field: ".spec.replicas"})
)

// faultServer is an API server for one TenantControlPlane that answers the n-th request
// with faults[n] while there is one, and then as the server would.
type faultServer struct {
	*httptest.Server
	mu       sync.Mutex
	faults   []fault
	requests int
}

func newFaultServer(t *testing.T, faults ...fault) *faultServer {
	t.Helper()
	s := &faultServer{faults: faults}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		var f fault
		if len(s.faults) > 0 {
			f, s.faults = s.faults[0], s.faults[1:]
		}
		s.mu.Unlock()
		if f != nil {
			f(w)
			return
		}
		obj := testTCP()
		obj.SetResourceVersion("7")
		w.Header().Set("Content-Type", "application/json")
		code := http.StatusOK
		if r.Method == http.MethodPost {
			code = http.StatusCreated
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(obj.Object)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *faultServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func testTCP() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("kamaji.clastix.io/v1alpha1")
	u.SetKind("TenantControlPlane")
	u.SetNamespace("tenant-a")
	u.SetName("prod")
	return u
}

func faultClient(t *testing.T, host string, p RetryPolicy) dynamic.ResourceInterface {
	t.Helper()
	cfg := &rest.Config{Host: host}
	cfg.Wrap(p.Wrap)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn.Resource(tcpGVR).Namespace("tenant-a")
}

// call is one request of each kind the provider sends.
type call func(context.Context, dynamic.ResourceInterface) error

var (
	get = func(ctx context.Context, r dynamic.ResourceInterface) error {
		_, err := r.Get(ctx, "prod", metav1.GetOptions{})
		return err
	}
	applyCall = func(ctx context.Context, r dynamic.ResourceInterface) error {
		_, err := Apply(ctx, r, testTCP())
		return err
	}
	create = func(ctx context.Context, r dynamic.ResourceInterface) error {
		_, err := r.Create(ctx, testTCP(), metav1.CreateOptions{})
		return err
	}
	update = func(ctx context.Context, r dynamic.ResourceInterface) error {
		obj := testTCP()
		obj.SetResourceVersion("6")
		_, err := r.Update(ctx, obj, metav1.UpdateOptions{})
		return err
	}
	deleteCall = func(ctx context.Context, r dynamic.ResourceInterface) error {
		return r.Delete(ctx, "prod", metav1.DeleteOptions{})
	}
	jsonPatch = func(ctx context.Context, r dynamic.ResourceInterface) error {
		_, err := r.Patch(ctx, "prod", types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/finalizers/-","value":"x"}]`), metav1.PatchOptions{})
		return err
	}
	mergePatch = func(ctx context.Context, r dynamic.ResourceInterface) error {
		_, err := r.Patch(ctx, "prod", types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":null}}}`), metav1.PatchOptions{})
		return err
	}
)

func TestRetryPolicy_recovers(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		call   call
		faults []fault
	}{
		"get after 429 without Retry-After":          {get, []fault{tooMany, tooMany}},
		"get after etcd too many requests":           {get, []fault{etcdTooMany}},
		"get after 500 server timeout":               {get, []fault{serverTimeout}},
		"get after 502":                              {get, []fault{badGateway}},
		"get after 503":                              {get, []fault{unavailable, unavailable, unavailable}},
		"get after 504 request timeout":              {get, []fault{requestTimeout}},
		"get after a connection reset":               {get, []fault{reset}},
		"get after 429 with Retry-After (client-go)": {get, []fault{withRetryAfter(tooMany)}},
		"get after 503 with Retry-After (client-go)": {get, []fault{withRetryAfter(unavailable)}},
		"apply after 429":                            {applyCall, []fault{tooMany}},
		"apply after 503 and 504":                    {applyCall, []fault{unavailable, requestTimeout}},
		"apply after a connection reset":             {applyCall, []fault{reset}},
		"apply after the object changed under it":    {applyCall, []fault{modified}},
		"update after 503":                           {update, []fault{unavailable}},
		"delete after 504 and a reset":               {deleteCall, []fault{requestTimeout, reset}},
		"merge patch after 502":                      {mergePatch, []fault{badGateway}},
		"create after 429 (never carried out)":       {create, []fault{tooMany}},
		"create after 503 with Retry-After":          {create, []fault{withRetryAfter(unavailable)}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newFaultServer(t, tc.faults...)
			if err := tc.call(t.Context(), faultClient(t, s.URL, fastRetries)); err != nil {
				t.Fatalf("error after %d requests: %v", s.count(), err)
			}
			if got, want := s.count(), len(tc.faults)+1; got != want {
				t.Errorf("%d requests, want %d (each fault retried once)", got, want)
			}
		})
	}
}

func TestRetryPolicy_doesNotRepeat(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		call  call
		fault fault
		is    func(error) bool
	}{
		// A create may have been carried out before the failure.
		"create after 503":              {create, unavailable, apierrors.IsServiceUnavailable},
		"create after 504":              {create, requestTimeout, apierrors.IsTimeout},
		"create after a reset":          {create, reset, isConnectionError},
		"json patch after 503":          {jsonPatch, unavailable, apierrors.IsServiceUnavailable},
		"apply against a field manager": {applyCall, managerClash, apierrors.IsConflict},
		"update with a stale version":   {update, modified, apierrors.IsConflict},
		"delete with a failed precondition": {deleteCall, status(http.StatusConflict, metav1.StatusReasonConflict,
			`Operation cannot be fulfilled on tenantcontrolplanes.kamaji.clastix.io "prod": Precondition failed: UID in precondition: 1, UID in object meta: 2`), apierrors.IsConflict},
		"get refused":   {get, status(http.StatusForbidden, metav1.StatusReasonForbidden, "forbidden"), apierrors.IsForbidden},
		"get not found": {get, status(http.StatusNotFound, metav1.StatusReasonNotFound, "not found"), apierrors.IsNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newFaultServer(t, tc.fault)
			err := tc.call(t.Context(), faultClient(t, s.URL, fastRetries))
			if !tc.is(err) {
				t.Fatalf("error %v, not the one the server sent", err)
			}
			if s.count() != 1 {
				t.Errorf("%d requests, want 1 (no retry)", s.count())
			}
		})
	}
}

func isConnectionError(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset"))
}

// A fault that lasts longer than the policy reaches the caller with the object named.
func TestRetryPolicy_givesUp(t *testing.T) {
	t.Parallel()
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		s := newFaultServer(t, unavailable, unavailable, unavailable, unavailable, unavailable)
		_, err := Apply(t.Context(), faultClient(t, s.URL, fastRetries), testTCP())
		var objErr *ObjectError
		if !errors.As(err, &objErr) || objErr.Object != "TenantControlPlane tenant-a/prod" || !apierrors.IsServiceUnavailable(err) {
			t.Fatalf("error %v, want a 503 about TenantControlPlane tenant-a/prod", err)
		}
		if got, want := s.count(), fastRetries.Backoff.Steps+1; got != want {
			t.Errorf("%d requests, want %d", got, want)
		}
	})
	t.Run("connection", func(t *testing.T) {
		t.Parallel()
		// A port nothing listens on: every connection is refused.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		_, err = Apply(t.Context(), faultClient(t, "http://"+addr, fastRetries), testTCP())
		var objErr *ObjectError
		if !errors.As(err, &objErr) || objErr.Object != "TenantControlPlane tenant-a/prod" {
			t.Fatalf("error %v, want one about TenantControlPlane tenant-a/prod", err)
		}
		if want := "failed after 4 attempts"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "/tenantcontrolplanes/prod") {
			t.Errorf("error %q does not say %q about the object's path", err, want)
		}
		var noAnswer *NoAnswerError
		if !errors.As(err, &noAnswer) || noAnswer.Host != "http://"+addr || noAnswer.Attempts != 4 {
			t.Errorf("error %#v, want a *NoAnswerError from http://%s after 4 attempts", noAnswer, addr)
		}
	})
	t.Run("operation ends", func(t *testing.T) {
		t.Parallel()
		slow := RetryPolicy{Backoff: wait.Backoff{Duration: time.Hour, Steps: 3}}
		s := newFaultServer(t, unavailable, unavailable)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := get(ctx, faultClient(t, s.URL, slow))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the operation's deadline", err)
		}
		if s.count() != 1 {
			t.Errorf("%d requests, want 1: the wait for the retry outlasts the operation", s.count())
		}
	})
}

// NewClients puts every client behind the policy and one rate limiter.
func TestNewClients_retriesAndSharesTheRateLimiter(t *testing.T) {
	t.Parallel()
	s := newFaultServer(t, unavailable)
	clients, err := NewClients(&rest.Config{Host: s.URL, QPS: 7, Burst: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t.Context(), clients.Dynamic.Resource(tcpGVR).Namespace("tenant-a")); err != nil {
		t.Fatalf("a 503 was not retried: %v", err)
	}
	limiter := clients.REST.RateLimiter
	if limiter == nil || limiter.QPS() != 7 {
		t.Fatalf("rate limiter %v, want one of 7 QPS", limiter)
	}
	if got := clients.Kubernetes.CoreV1().RESTClient().GetRateLimiter(); got != limiter {
		t.Errorf("the Kubernetes client has its own rate limiter")
	}
	if got := clients.Kubernetes.Discovery().RESTClient().GetRateLimiter(); got != limiter {
		t.Errorf("the discovery client has its own rate limiter")
	}
}
