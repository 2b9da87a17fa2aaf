package main

import (
	"context"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/feeds"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// Unfinished renewals are marked abandoned, which the Linked banks page
// leaves out: a second Renew supersedes the first, and an attempt whose
// authorisation lapsed ends when the links are next listed.
func TestConsentPages_unfinishedRenewalsEnd(t *testing.T) {
	m := startWithDemoBank(t, "alice", false)
	ctx := context.Background()
	pages := consentPages{Service: m.Consent, feeds: func() *feeds.Service { return m.Feeds }}

	links, err := pages.BankLinks(ctx, "alice")
	if err != nil || len(links) != 1 {
		t.Fatalf("alice's bank links = %+v, %v; want one", links, err)
	}
	linkID := links[0].ID
	for range 2 {
		if _, err := pages.RenewBank(ctx, "alice", linkID); err != nil {
			t.Fatalf("RenewBank: %v", err)
		}
	}
	statuses := func() map[string]int {
		t.Helper()
		links, err := pages.BankLinks(ctx, "alice")
		if err != nil {
			t.Fatalf("BankLinks: %v", err)
		}
		out := map[string]int{}
		for _, link := range links {
			out[link.Status]++
		}
		return out
	}
	got := statuses()
	if got[consentui.BankAbandoned] != 1 || got[consentui.BankAwaitingAuthorisation] != 1 || got[consentui.BankAuthorised] != 1 {
		t.Errorf("after two renewals: statuses %v, want one each of abandoned, awaiting and authorised", got)
	}

	// Past the authorisation lifetime, the remaining attempt has lapsed.
	m.Feeds.Now = func() time.Time { return time.Now().Add(time.Hour) }
	got = statuses()
	if got[consentui.BankAbandoned] != 2 || got[consentui.BankAwaitingAuthorisation] != 0 {
		t.Errorf("after the attempt lapsed: statuses %v, want two abandoned and none awaiting", got)
	}
}
