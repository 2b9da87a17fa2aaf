package eval

import (
	"fmt"
	"math"
	"slices"

	"github.com/openbanking-insights/insights/internal/categorize"
)

// ConfidenceSample is one prediction of a stream's next payment: the
// uncalibrated score of the stream (categorize.DetectIncomeScored) at a
// rolling cut, and how the next payment turned out.
type ConfidenceSample struct {
	Score float64
	// DateRight is whether the payment arrived on NextExpected, and InBand
	// whether its amount was within the stream's amount band.
	DateRight, InBand bool
}

// Right reports whether the prediction that a Confidence states came
// true: the payment arrived on NextExpected within the amount band.
func (s ConfidenceSample) Right() bool { return s.DateRight && s.InBand }

// CalibrationSeeds are the generator seeds of the histories that the
// confidence steps are fitted on. None is DefaultSeed, so the committed
// corpus measures the fit on histories it was not fitted on.
var CalibrationSeeds = []int64{DefaultSeed + 1, DefaultSeed + 2, DefaultSeed + 3, DefaultSeed + 4}

// calibrationBins is the number of equal-width score bins of the fit.
const calibrationBins = 20

// CalibrationCases generates the corpus once per seed of
// CalibrationSeeds, in memory.
func CalibrationCases() ([]Case, error) {
	var cases []Case
	for _, seed := range CalibrationSeeds {
		for _, f := range GenerateCorpus(seed) {
			c, err := f.toCase()
			if err != nil {
				return nil, fmt.Errorf("seed %d: %s: %w", seed, f.Name, err)
			}
			c.Name = fmt.Sprintf("seed-%d/%s", seed, f.Name)
			cases = append(cases, c)
		}
	}
	return cases, nil
}

// FitConfidence fits the steps of categorize.CalibratedConfidence to
// samples by isotonic regression: the scores are put into
// calibrationBins equal-width bins, and the pool-adjacent-violators
// algorithm merges neighbouring bins until the share of right predictions
// never falls as the score rises. Each resulting step starts at the lower
// edge of its first bin; a bin without samples joins the step before it.
// Shares are rounded to three decimals.
func FitConfidence(samples []ConfidenceSample) []categorize.ConfidenceStep {
	type block struct {
		from         float64
		right, total float64
	}
	var bins [calibrationBins]block
	for i := range bins {
		bins[i].from = float64(i) / calibrationBins
	}
	for _, s := range samples {
		i := min(int(s.Score*calibrationBins), calibrationBins-1)
		bins[i].total++
		if s.Right() {
			bins[i].right++
		}
	}

	var blocks []block
	for _, b := range bins {
		if b.total == 0 {
			continue
		}
		blocks = append(blocks, b)
		// Pool while the last block's share is below the one before it.
		for n := len(blocks); n >= 2 && blocks[n-1].right/blocks[n-1].total < blocks[n-2].right/blocks[n-2].total; n = len(blocks) {
			last := blocks[n-1]
			blocks = blocks[:n-1]
			blocks[n-2].right += last.right
			blocks[n-2].total += last.total
		}
	}

	steps := []categorize.ConfidenceStep{{From: 0, Confidence: 0}}
	for i, b := range blocks {
		from := b.from
		if i == 0 {
			from = 0
		}
		share := math.Round(b.right/b.total*1000) / 1000
		if i == 0 {
			steps[0].Confidence = share
			continue
		}
		steps = append(steps, categorize.ConfidenceStep{From: from, Confidence: share})
	}
	return steps
}

// ReliabilityRow is one bucket of a reliability table: the predictions
// whose stated confidence fell in [From, To).
type ReliabilityRow struct {
	From, To    float64
	Predictions int
	// Stated is the mean stated confidence; DateRight and Right are the
	// shares of predictions whose date, and whose date and amount band,
	// came true.
	Stated, DateRight, Right float64
}

// reliabilityEdges are the bucket edges of Reliability.
var reliabilityEdges = []float64{0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0001}

// Reliability groups samples by the confidence that state gives their
// score, and returns the buckets that hold any, with the expected
// calibration error: the mean over predictions of |stated - observed| of
// their bucket, where observed is the share of Right predictions.
func Reliability(samples []ConfidenceSample, state func(score float64) float64) ([]ReliabilityRow, float64) {
	rows := make([]ReliabilityRow, len(reliabilityEdges)-1)
	for i := range rows {
		rows[i].From, rows[i].To = reliabilityEdges[i], min(reliabilityEdges[i+1], 1)
	}
	for _, s := range samples {
		stated := state(s.Score)
		i := max(0, slices.IndexFunc(reliabilityEdges, func(e float64) bool { return stated < e })-1)
		r := &rows[i]
		r.Predictions++
		r.Stated += stated
		if s.DateRight {
			r.DateRight++
		}
		if s.Right() {
			r.Right++
		}
	}

	var out []ReliabilityRow
	errorSum, total := 0.0, 0
	for _, r := range rows {
		if r.Predictions == 0 {
			continue
		}
		n := float64(r.Predictions)
		r.Stated, r.DateRight, r.Right = r.Stated/n, r.DateRight/n, r.Right/n
		errorSum += n * math.Abs(r.Stated-r.Right)
		total += r.Predictions
		out = append(out, r)
	}
	if total == 0 {
		return out, 0
	}
	return out, errorSum / float64(total)
}

func identity(score float64) float64 { return score }
