package main

import (
	"context"
	"fmt"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/feeds"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// consentPages is the consentui.Service of the running service: the
// consent lifecycle, plus the customer's bank links from feeds.
type consentPages struct {
	*consent.Service
	// feeds returns the bank feeds, or nil when no bank is configured. It
	// is a function because the feeds open after the pages are built.
	feeds func() *feeds.Service
}

var _ consentui.Service = consentPages{}

// BankLinks returns the customer's bank consents, newest first, or none
// when no bank is configured.
func (p consentPages) BankLinks(ctx context.Context, customerID string) ([]consentui.BankLink, error) {
	f := p.feeds()
	if f == nil {
		return nil, nil
	}
	infos, err := f.Consents(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("list bank links: %w", err)
	}
	links := make([]consentui.BankLink, 0, len(infos))
	for _, info := range infos {
		name := info.BankName
		if name == "" {
			name = info.BankID // a bank removed from the configuration keeps its ID
		}
		links = append(links, consentui.BankLink{ID: info.ConsentID, BankName: name, Status: info.Status,
			ExpiresAt: info.ExpiresAt, LastRefresh: info.LastRefresh, LastOutcome: info.LastOutcome})
	}
	return links, nil
}

// Unlink revokes one of the customer's bank consents at the bank. A consent
// of another customer, or any consent when no bank is configured, is
// not_found.
func (p consentPages) Unlink(ctx context.Context, customerID, linkID string) error {
	links, err := p.BankLinks(ctx, customerID)
	if err != nil {
		return err
	}
	for _, link := range links {
		if link.ID != linkID {
			continue
		}
		if err := p.feeds().Revoke(ctx, linkID); err != nil {
			return fmt.Errorf("unlink bank: %w", err)
		}
		return nil
	}
	return insights.Errorf(insights.ErrNotFound, "bank link %s not found", linkID)
}
