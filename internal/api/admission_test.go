package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingHandler holds every request until release is closed, and counts
// the requests it has started.
type blockingHandler struct {
	started chan string
	release chan struct{}
}

func (h *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.started <- r.URL.Path
	<-h.release
	_, _ = io.WriteString(w, "served")
}

func TestAdmissionRejectsBeyondLimit(t *testing.T) {
	inner := &blockingHandler{started: make(chan string, 16), release: make(chan struct{})}
	admission := NewAdmission(AdmissionLimits{MaxInFlight: 2, Wait: 20 * time.Millisecond}, nil)
	srv := httptest.NewServer(admission.Middleware(inner))
	defer srv.Close()

	// Two requests take both slots and stay in the handler.
	var held sync.WaitGroup
	heldStatus := make([]int, 2)
	for i, target := range []string{"/graphql", "/consent/requests/req_1/approve"} {
		held.Add(1)
		go func() {
			defer held.Done()
			resp, err := http.Post(srv.URL+target, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			heldStatus[i] = resp.StatusCode
		}()
	}
	for range 2 {
		select {
		case <-inner.started:
		case <-time.After(10 * time.Second):
			t.Fatal("the first two requests did not reach the handler")
		}
	}

	cases := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string
	}{
		{"graphql over limit", http.MethodPost, "/graphql", http.StatusServiceUnavailable, `"code":"UNAVAILABLE"`},
		{"consent page over limit", http.MethodGet, "/consent/requests/req_2", http.StatusServiceUnavailable, "at capacity"},
		{"approval over limit", http.MethodPost, "/consent/requests/req_2/approve", http.StatusServiceUnavailable, "at capacity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, c.wantStatus)
			}
			if got := resp.Header.Get("Retry-After"); got != admissionRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, admissionRetryAfter)
			}
			if !strings.Contains(string(body), c.wantBody) {
				t.Errorf("body = %s, want it to contain %q", body, c.wantBody)
			}
		})
	}
	if got := admission.Rejected(); got != int64(len(cases)) {
		t.Errorf("Rejected() = %d, want %d", got, len(cases))
	}

	// Requests that are not issuance work pass while the slots are taken.
	go func() {
		resp, err := http.Get(srv.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case path := <-inner.started:
		if path != "/healthz" {
			t.Errorf("handler started %s, want /healthz", path)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GET /healthz was held back by admission control")
	}

	close(inner.release)
	held.Wait()
	for i, status := range heldStatus {
		if status != http.StatusOK {
			t.Errorf("admitted request %d: status %d, want 200", i, status)
		}
	}

	// With the slots free again, the next request is served.
	resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after release: status = %d, want 200", resp.StatusCode)
	}
}

func TestAdmissionWaitsForFreeSlot(t *testing.T) {
	inner := &blockingHandler{started: make(chan string, 4), release: make(chan struct{})}
	admission := NewAdmission(AdmissionLimits{MaxInFlight: 1, Wait: 5 * time.Second}, nil)
	srv := httptest.NewServer(admission.Middleware(inner))
	defer srv.Close()

	statuses := make(chan int, 2)
	post := func() {
		resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Error(err)
			statuses <- 0
			return
		}
		resp.Body.Close()
		statuses <- resp.StatusCode
	}
	go post()
	<-inner.started
	go post() // waits for the slot of the first
	time.Sleep(50 * time.Millisecond)
	close(inner.release)
	for range 2 {
		if status := <-statuses; status != http.StatusOK {
			t.Errorf("status = %d, want 200: a request within the wait must be served", status)
		}
	}
	if got := admission.Rejected(); got != 0 {
		t.Errorf("Rejected() = %d, want 0", got)
	}
}

func TestAdmissionOffWithoutLimit(t *testing.T) {
	if a := NewAdmission(AdmissionLimits{}, nil); a != nil {
		t.Fatalf("NewAdmission with MaxInFlight 0 = %v, want nil", a)
	}
	var a *Admission
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if got := a.Middleware(next); got == nil {
		t.Error("nil Admission returned a nil handler")
	}
}
