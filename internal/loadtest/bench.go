package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Phase is one fixed-rate stretch of a run.
type Phase struct {
	Name     string
	Rate     int // flows started per second
	Duration time.Duration
}

// Options configures Run.
type Options struct {
	Phases []Phase
	// MaxInFlight caps concurrent flows; a flow due while the cap is
	// reached is not started and counts as an error ("overloaded").
	MaxInFlight int
	// RSS returns the service's resident memory; nil skips memory samples.
	RSS func() (int64, error)
	// CPU returns the CPU time the service has used since it started
	// (user and system, all threads); nil skips the CPU figures.
	CPU func() (time.Duration, error)
	// Progress receives one line per phase as it ends; nil discards them.
	Progress io.Writer
	// StopErrorRate ends the run after a phase in which more than this
	// share of the started flows failed, because higher rates then only
	// measure the backlog; 0 runs every phase.
	StopErrorRate float64
}

// PhaseReport holds the figures of one phase.
type PhaseReport struct {
	Phase
	Started, Completed int
	Overloaded         int
	Errors             map[string]int // by failed step
	FirstError         string
	Elapsed            time.Duration // from the first start to the last flow's end
	// Latencies by step, and "flow" for a whole completed flow.
	Latencies map[string][]time.Duration
	RSS       []int64 // samples, one a second
	LoadStart string  // /proc/loadavg when the phase started
	LoadEnd   string
	// CPU is the service's CPU time during the phase, and -1 when it was
	// not measured.
	CPU time.Duration
}

// CPUPerFlow returns the service's CPU time per completed flow, or -1
// when CPU was not measured or no flow completed. Unlike throughput and
// latency it changes little with other work on a shared machine, so it
// compares builds measured at different times.
func (p PhaseReport) CPUPerFlow() time.Duration {
	if p.CPU < 0 || p.Completed == 0 {
		return -1
	}
	return p.CPU / time.Duration(p.Completed)
}

// Cores returns the service's average CPU use during the phase in cores,
// or -1 when CPU was not measured.
func (p PhaseReport) Cores() float64 {
	if p.CPU < 0 || p.Elapsed <= 0 {
		return -1
	}
	return p.CPU.Seconds() / p.Elapsed.Seconds()
}

// Throughput returns completed flows (issued tokens) per second.
func (p PhaseReport) Throughput() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Completed) / p.Elapsed.Seconds()
}

// ErrorCount returns the failed and overloaded flows.
func (p PhaseReport) ErrorCount() int {
	n := p.Overloaded
	for _, c := range p.Errors {
		n += c
	}
	return n
}

// Percentile returns the q-quantile (0 < q ≤ 1) of step's latencies, by
// the nearest-rank method, or 0 without samples.
func (p PhaseReport) Percentile(step string, q float64) time.Duration {
	d := p.Latencies[step]
	if len(d) == 0 {
		return 0
	}
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Run runs the phases in order against d, each flow as a random session of
// sessions, and returns a report per phase. Flows start on a fixed
// schedule whatever the service's speed (an open loop), so a slow service
// shows as latency and overload errors, not as a lower offered rate.
func Run(ctx context.Context, d *Driver, sessions []*Session, opts Options) []PhaseReport {
	var reports []PhaseReport
	for _, ph := range opts.Phases {
		if ctx.Err() != nil {
			break
		}
		r := runPhase(ctx, d, sessions, ph, opts)
		if opts.Progress != nil {
			fmt.Fprintln(opts.Progress, r.Summary())
		}
		reports = append(reports, r)
		if opts.StopErrorRate > 0 && r.Started > 0 && float64(r.ErrorCount())/float64(r.Started) > opts.StopErrorRate {
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "%s: more than %.0f%% of flows failed; the remaining phases are skipped\n", r.Name, 100*opts.StopErrorRate)
			}
			break
		}
	}
	return reports
}

func runPhase(ctx context.Context, d *Driver, sessions []*Session, ph Phase, opts Options) PhaseReport {
	r := PhaseReport{Phase: ph, Errors: map[string]int{}, Latencies: map[string][]time.Duration{}, LoadStart: loadavg(), CPU: -1}
	cpuStart, cpuErr := readCPU(opts.CPU)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var inFlight atomic.Int64

	stopSampling := make(chan struct{})
	samplingDone := make(chan struct{})
	go func() {
		defer close(samplingDone)
		sampleRSS(opts.RSS, &mu, &r.RSS, stopSampling)
	}()

	interval := time.Second / time.Duration(ph.Rate)
	begin := time.Now()
	end := begin.Add(ph.Duration)
	for next := begin; next.Before(end) && ctx.Err() == nil; next = next.Add(interval) {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		r.Started++
		if opts.MaxInFlight > 0 && inFlight.Load() >= int64(opts.MaxInFlight) {
			r.Overloaded++
			continue
		}
		inFlight.Add(1)
		wg.Add(1)
		s := sessions[rand.IntN(len(sessions))]
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			flowStart := time.Now()
			res := d.Flow(ctx, s)
			total := time.Since(flowStart)

			mu.Lock()
			defer mu.Unlock()
			for step, dur := range res.Durations {
				r.Latencies[step] = append(r.Latencies[step], dur)
			}
			if res.FailedStep != "" {
				r.Errors[res.FailedStep]++
				if r.FirstError == "" {
					r.FirstError = res.FailedStep + ": " + res.Err.Error()
				}
				return
			}
			r.Completed++
			r.Latencies["flow"] = append(r.Latencies["flow"], total)
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(begin)
	if cpuEnd, err := readCPU(opts.CPU); cpuErr == nil && err == nil {
		r.CPU = cpuEnd - cpuStart
	}
	close(stopSampling)
	<-samplingDone
	r.LoadEnd = loadavg()
	return r
}

// readCPU calls cpu, and reports an error when it is nil.
func readCPU(cpu func() (time.Duration, error)) (time.Duration, error) {
	if cpu == nil {
		return 0, errors.New("no CPU source")
	}
	return cpu()
}

func sampleRSS(rss func() (int64, error), mu *sync.Mutex, out *[]int64, stop <-chan struct{}) {
	if rss == nil {
		return
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		if v, err := rss(); err == nil {
			mu.Lock()
			*out = append(*out, v)
			mu.Unlock()
		}
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return strings.TrimSpace(string(b))
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.0f", float64(b)/(1<<20)) }

// Summary returns the phase's figures on one line.
func (p PhaseReport) Summary() string {
	var rss string
	if n := len(p.RSS); n > 0 {
		rss = fmt.Sprintf(" rss_mib first %s max %s last %s", mib(p.RSS[0]), mib(slices.Max(p.RSS)), mib(p.RSS[n-1]))
	}
	var cpu string
	if p.CPU >= 0 {
		cpu = fmt.Sprintf(" cpu_ms_per_flow %s cores %s", cpuPerFlow(p), cores(p))
	}
	return fmt.Sprintf("%s: offered %d/s for %s: started %d issued %d (%.1f/s) errors %d (overloaded %d) "+
		"approve p50 %s p99 %s ms, flow p50 %s p99 %s ms, load %s -> %s%s%s",
		p.Name, p.Rate, p.Duration, p.Started, p.Completed, p.Throughput(), p.ErrorCount(), p.Overloaded,
		ms(p.Percentile(StepApprove, 0.5)), ms(p.Percentile(StepApprove, 0.99)),
		ms(p.Percentile("flow", 0.5)), ms(p.Percentile("flow", 0.99)), p.LoadStart, p.LoadEnd, rss, cpu)
}

// cpuPerFlow formats CPUPerFlow in milliseconds, "n/a" when unknown.
func cpuPerFlow(p PhaseReport) string {
	d := p.CPUPerFlow()
	if d < 0 {
		return "n/a"
	}
	return ms(d)
}

// cores formats Cores, "n/a" when unknown.
func cores(p PhaseReport) string {
	c := p.Cores()
	if c < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", c)
}

// WriteTable writes the reports as a Markdown table: one row per phase
// with throughput, errors, p50/p99 of every step and memory.
func WriteTable(w io.Writer, reports []PhaseReport) {
	fmt.Fprintln(w, "| phase | offered/s | issued/s | errors | request p50/p99 ms | open p50/p99 | approve (issuance) p50/p99 | fetch p50/p99 | whole flow p50/p99 | service CPU ms/flow | service cores | RSS first/max/last MiB | loadavg start → end |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range reports {
		cells := []string{p.Name, fmt.Sprint(p.Rate), fmt.Sprintf("%.1f", p.Throughput()), fmt.Sprint(p.ErrorCount())}
		for _, step := range append(slices.Clone(Steps), "flow") {
			cells = append(cells, ms(p.Percentile(step, 0.5))+" / "+ms(p.Percentile(step, 0.99)))
		}
		rss := "n/a"
		if n := len(p.RSS); n > 0 {
			rss = mib(p.RSS[0]) + " / " + mib(slices.Max(p.RSS)) + " / " + mib(p.RSS[n-1])
		}
		cells = append(cells, cpuPerFlow(p), cores(p), rss, p.LoadStart+" → "+p.LoadEnd)
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	for _, p := range reports {
		if p.FirstError != "" {
			fmt.Fprintf(w, "\n%s: first error: %s\n", p.Name, p.FirstError)
		}
	}
	for _, p := range reports {
		if byMinute := p.RSSByMinute(); len(byMinute) > 2 {
			cells := make([]string, len(byMinute))
			for i, b := range byMinute {
				cells[i] = mib(b)
			}
			fmt.Fprintf(w, "\n%s: RSS at the end of each minute, MiB: %s\n", p.Name, strings.Join(cells, " "))
		}
	}
}

// RSSByMinute returns the RSS sample at the end of each whole minute of
// the phase, so a soak shows whether memory grows. Samples are taken once a
// second from the phase's start, so sample 60 ends the first minute.
// NOTE: a failed read of /proc skips a sample and shifts later ones by a
// second.
func (p PhaseReport) RSSByMinute() []int64 {
	var out []int64
	for i := 60; i < len(p.RSS); i += 60 {
		out = append(out, p.RSS[i])
	}
	return out
}
