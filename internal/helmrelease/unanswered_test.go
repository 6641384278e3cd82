package helmrelease

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/qumulus/terraform-provider-qumulus/internal/kube"
)

// TestUnanswered: a Helm error that kept only the text of a refused connection is told
// apart, by asking the API server again, from one of an API server that answers.
func TestUnanswered(t *testing.T) {
	driver := func(t *testing.T, host string) *Driver {
		t.Helper()
		c, err := kube.NewClients(&rest.Config{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		return &Driver{Clients: c, Namespace: "openstack"}
	}
	helmErr := errors.New(`failed post-install: warning: Hook post-install failed: Post "https://x/jobs": connection refused`)

	t.Run("down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		na := driver(t, "http://"+addr).Unanswered(t.Context(), helmErr)
		if na == nil || na.Host != "http://"+addr || na.Path != "/version" {
			t.Fatalf("got %#v, want the GET /version that http://%s did not answer", na, addr)
		}
	})
	t.Run("answers", func(t *testing.T) {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"major":"1","minor":"35"}`))
		}))
		defer s.Close()
		if na := driver(t, s.URL).Unanswered(t.Context(), helmErr); na != nil {
			t.Fatalf("got %v from an API server that answers", na)
		}
	})
	t.Run("in the error", func(t *testing.T) {
		in := &kube.NoAnswerError{Host: "https://10.0.0.9:6443", Method: "POST", Path: "/api/v1/namespaces", Attempts: 7, Err: errors.New("refused")}
		// Found in the error: no request is made.
		if na := driver(t, "http://127.0.0.1:1").Unanswered(t.Context(), errors.Join(helmErr, in)); na != in {
			t.Fatalf("got %v, want the error's own %v", na, in)
		}
	})
}
