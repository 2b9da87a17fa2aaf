package loadtest

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
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

func TestCPUFigures(t *testing.T) {
	tests := []struct {
		name      string
		cpu       time.Duration
		completed int
		elapsed   time.Duration
		perFlow   time.Duration
		cores     float64
	}{
		{"measured", 3 * time.Second, 60, 2 * time.Second, 50 * time.Millisecond, 1.5},
		{"not measured", -1, 60, 2 * time.Second, -1, -1},
		{"no flow completed", time.Second, 0, 2 * time.Second, -1, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PhaseReport{CPU: tt.cpu, Completed: tt.completed, Elapsed: tt.elapsed}
			if got := p.CPUPerFlow(); got != tt.perFlow {
				t.Errorf("CPUPerFlow() = %v, want %v", got, tt.perFlow)
			}
			if got := p.Cores(); got != tt.cores {
				t.Errorf("Cores() = %v, want %v", got, tt.cores)
			}
		})
	}
}

func TestProcessCPUGrows(t *testing.T) {
	pid := os.Getpid()
	start, err := processCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's count moves (it counts in 10 ms ticks);
	// give up after far more work than one tick needs.
	x := uint64(1)
	for range 200 {
		for i := range 5_000_000 {
			x = x*6364136223846793005 + uint64(i)
		}
		now, err := processCPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		if now > start {
			return
		}
	}
	t.Errorf("CPU time stayed at %v after burning CPU (%d)", start, x)
}

func TestProcessCPUMissingProcess(t *testing.T) {
	if _, err := processCPU(-1); err == nil {
		t.Error("processCPU(-1) returned no error")
	}
}
