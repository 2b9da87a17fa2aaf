package consent

import (
	"fmt"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func TestClaimCache_dropsValueDerivedBeforeChange(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	claim := insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}
	result := []insights.ClaimResult{{Request: claim, Available: true, Holds: true}}

	tests := []struct {
		name    string
		between func(c *claimCache) // runs between snapshot and put
		want    bool
	}{
		{"no change", func(*claimCache) {}, true},
		{"customer's data changed", func(c *claimCache) { c.forget("bob") }, false},
		{"other customer's data changed", func(c *claimCache) { c.forget("carol") }, true},
		{"change records emptied", func(c *claimCache) {
			for i := range maxCachedClaimCustomers + 1 {
				c.forget(fmt.Sprintf("customer-%d", i))
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c claimCache
			snapshot := c.snapshot()
			tt.between(&c)
			c.put("bob", snapshot, []insights.ClaimRequest{claim}, result, now)
			if _, ok := c.get("bob", claim, now); ok != tt.want {
				t.Errorf("cached = %v, want %v", ok, tt.want)
			}
		})
	}
}
