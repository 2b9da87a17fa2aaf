package loadtest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestRSSByMinute(t *testing.T) {
	tests := []struct {
		name    string
		samples int
		want    []int64
	}{
		{"under a minute", 59, nil},
		{"one minute", 61, []int64{60}},
		{"three minutes and a half", 211, []int64{60, 120, 180}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PhaseReport{}
			for i := range tt.samples {
				p.RSS = append(p.RSS, int64(i))
			}
			if got := p.RSSByMinute(); !slices.Equal(got, tt.want) {
				t.Errorf("RSSByMinute() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteTableSoakMemory(t *testing.T) {
	p := PhaseReport{Phase: Phase{Name: "soak 8/s", Rate: 8}}
	for i := range 181 {
		p.RSS = append(p.RSS, int64(300+i)<<20)
	}
	var out bytes.Buffer
	WriteTable(&out, []PhaseReport{p})
	if want := "soak 8/s: RSS at the end of each minute, MiB: 360 420 480"; !strings.Contains(out.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, out.String())
	}
}
