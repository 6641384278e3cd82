package faultproxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

// TestCreateKinds checks the create faults against a server that counts what reaches it:
// a 503 before the create is passed on, a create carried out without an answer, and other
// requests passed on untouched; Observe sees every request.
func TestCreateKinds(t *testing.T) {
	var posts, gets atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			w.WriteHeader(http.StatusCreated)
		} else {
			gets.Add(1)
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer server.Close()
	var observed atomic.Int32
	p, err := Start(&rest.Config{Host: server.URL}, Options{Every: 1, Kinds: CreateKinds, Observe: func(*http.Request) { observed.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	post := func() (*http.Response, error) {
		return http.Post(p.URL+"/api/v1/namespaces", "application/json", strings.NewReader(`{}`))
	}

	resp, err := post()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first create: %v, %v; want a 503", resp, err)
	}
	_ = resp.Body.Close()
	if n := posts.Load(); n != 0 {
		t.Errorf("the 503 passed the create on (%d creates reached the server)", n)
	}
	if resp, err := post(); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("second create answered %s, want the connection closed", resp.Status)
	}
	if n := posts.Load(); n != 1 {
		t.Errorf("%d creates reached the server, want the one whose answer was lost", n)
	}
	resp, err = http.Get(p.URL + "/api/v1/namespaces/x")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a read: %v, %v; want it passed on", resp, err)
	}
	_ = resp.Body.Close()
	if gets.Load() != 1 || observed.Load() != 3 {
		t.Errorf("reads at the server %d, requests observed %d; want 1 and 3", gets.Load(), observed.Load())
	}
	if got := p.Injected(); got[CreateUnavailable] != 1 || got[CreateAnswerLost] != 1 {
		t.Errorf("injected %v", got)
	}
}
