package eval

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
)

const (
	labelledDir = "../../testdata/labelled"
	sampleDir   = "../../testdata/sample"
)

// Floors of the regression guard: the figures reached when the corpus was
// generated, less a margin of 0.01 for small rule changes. Raise them when
// the categoriser improves.
const (
	floorLabelledMacroF1 = 0.958 - 0.01
	floorSampleMacroF1   = 0.996 - 0.01
	floorRegularSalary   = 0.98
	floorCommitments     = 1.0 - 0.01
)

func TestCorpus_matchesGenerator(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCorpus(dir, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	generated, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob(filepath.Join(labelledDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) != len(committed) {
		t.Fatalf("generator wrote %d files, testdata/labelled has %d: run go run ./internal/eval/cmd/eval -generate",
			len(generated), len(committed))
	}
	for _, p := range generated {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(labelledDir, filepath.Base(p)))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go run ./internal/eval/cmd/eval -generate", filepath.Base(p))
		}
	}
}

func TestRun_regressionFloor(t *testing.T) {
	corpus, err := LoadCorpus(labelledDir)
	if err != nil {
		t.Fatal(err)
	}
	sample, err := LoadSample(sampleDir)
	if err != nil {
		t.Fatal(err)
	}
	categorizer := categorize.New()

	labelled := Run(categorizer, corpus)
	if got := labelled.MacroF1(); got < floorLabelledMacroF1 {
		t.Errorf("labelled corpus macro F1 = %.4f, below the floor %.4f", got, floorLabelledMacroF1)
	}
	if got := labelled.RegularSalary.Rate(); got < floorRegularSalary {
		t.Errorf("labelled corpus next payday exact for %.3f of regular salaries, below %.3f", got, floorRegularSalary)
	}
	if labelled.RollingSalary.Total < 500 {
		t.Errorf("labelled corpus has %d rolling salary cuts, want at least 500", labelled.RollingSalary.Total)
	}
	if got := labelled.RollingSalary.Rate(); got < floorRegularSalary {
		t.Errorf("labelled corpus rolling next payday exact for %.3f of salary cuts, below %.3f", got, floorRegularSalary)
	}
	commitments := Hits{}
	for _, h := range labelled.Commitments {
		commitments.Exact += h.Exact
		commitments.Total += h.Total
	}
	if got := commitments.Rate(); got < floorCommitments {
		t.Errorf("labelled corpus commitments exact %.3f, below %.3f", got, floorCommitments)
	}

	demo := Run(categorizer, sample)
	if got := demo.MacroF1(); got < floorSampleMacroF1 {
		t.Errorf("demo feed macro F1 = %.4f, below the floor %.4f", got, floorSampleMacroF1)
	}
	if got := demo.RegularSalary.Rate(); got < floorRegularSalary {
		t.Errorf("demo feed next payday exact for %.3f of regular salaries, below %.3f", got, floorRegularSalary)
	}
	if got := demo.RollingSalary.Rate(); got < floorRegularSalary {
		t.Errorf("demo feed rolling next payday exact for %.3f of salary cuts, below %.3f", got, floorRegularSalary)
	}
}

func TestCorpus_coversHardCases(t *testing.T) {
	corpus, err := LoadCorpus(labelledDir)
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	cadences := map[insights.Cadence]bool{}
	categories := map[insights.Category]bool{}
	overrides := 0
	for _, c := range corpus {
		regions[string(c.Calendar.Region())] = true
		for _, s := range c.Streams {
			cadences[s.Cadence] = true
		}
		for _, cat := range c.Labels {
			categories[cat] = true
		}
		overrides += len(c.Overrides)
	}
	if len(regions) != 3 {
		t.Errorf("corpus covers %d bank holiday regions, want 3", len(regions))
	}
	for _, want := range []insights.Cadence{insights.CadenceWeekly, insights.CadenceFortnightly, insights.CadenceFourWeekly,
		insights.CadenceMonthly, categorize.CadenceTwiceMonthly, insights.CadenceIrregular} {
		if !cadences[want] {
			t.Errorf("corpus has no %s stream", want)
		}
	}
	for _, want := range categorize.Categories() {
		if want != insights.CategoryOther && !categories[want] {
			t.Errorf("corpus has no transaction labelled %s", want)
		}
	}
	if overrides == 0 {
		t.Error("corpus has no customer override")
	}
}

func TestCounts_metrics(t *testing.T) {
	cases := []struct {
		name                  string
		counts                Counts
		precision, recall, f1 float64
	}{
		{"perfect", Counts{TruePositive: 4}, 1, 1, 1},
		{"half precision", Counts{TruePositive: 2, FalsePositive: 2}, 0.5, 1, 2.0 / 3},
		{"half recall", Counts{TruePositive: 1, FalseNegative: 1}, 1, 0.5, 2.0 / 3},
		{"only wrong predictions", Counts{FalsePositive: 3}, 0, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.counts.Precision(); math.Abs(got-tc.precision) > 1e-9 {
				t.Errorf("Precision = %v, want %v", got, tc.precision)
			}
			if got := tc.counts.Recall(); math.Abs(got-tc.recall) > 1e-9 {
				t.Errorf("Recall = %v, want %v", got, tc.recall)
			}
			if got := tc.counts.F1(); math.Abs(got-tc.f1) > 1e-9 {
				t.Errorf("F1 = %v, want %v", got, tc.f1)
			}
		})
	}
}

func TestMacroF1_countsWrongPredictions(t *testing.T) {
	r := &Report{Categories: map[insights.Category]*Counts{
		insights.CategoryRent:  {TruePositive: 1, FalseNegative: 1},
		insights.CategoryOther: {FalsePositive: 1},
	}}
	want := (2.0/3 + 0) / 2
	if got := r.MacroF1(); math.Abs(got-want) > 1e-9 {
		t.Errorf("MacroF1 = %v, want %v", got, want)
	}
}

// TestConfidenceSteps_matchFit fits the confidence steps again on the
// calibration histories: the committed steps of package categorize must be
// that fit, so a change to the detector or the generator that moves it
// fails here until `go run ./internal/eval/cmd/eval -calibrate` is rerun.
func TestConfidenceSteps_matchFit(t *testing.T) {
	cases, err := CalibrationCases()
	if err != nil {
		t.Fatal(err)
	}
	report := Run(categorize.New(), cases)
	if len(report.Confidence) < 1000 {
		t.Fatalf("%d calibration predictions, want at least 1000", len(report.Confidence))
	}
	fitted, committed := FitConfidence(report.Confidence), categorize.ConfidenceSteps()
	if !slices.Equal(fitted, committed) {
		t.Errorf("committed confidence steps %v, the calibration histories fit %v", committed, fitted)
	}
}

// TestConfidence_calibratedOnCorpus checks the fit on the committed corpus,
// which it was not fitted on: the stated confidence must be closer to the
// observed share than the uncalibrated score, and within 0.1 of it.
func TestConfidence_calibratedOnCorpus(t *testing.T) {
	corpus, err := LoadCorpus(labelledDir)
	if err != nil {
		t.Fatal(err)
	}
	report := Run(categorize.New(), corpus)
	_, calibrated := Reliability(report.Confidence, categorize.CalibratedConfidence)
	_, raw := Reliability(report.Confidence, identity)
	if calibrated >= raw || calibrated > 0.1 {
		t.Errorf("expected calibration error %.3f calibrated, %.3f uncalibrated: want below both 0.1 and the uncalibrated", calibrated, raw)
	}
}

func TestFitConfidence_monotonePools(t *testing.T) {
	sample := func(score float64, right bool) ConfidenceSample {
		return ConfidenceSample{Score: score, DateRight: right, InBand: true}
	}
	// Scores 0.62: 3 of 4 right; 0.71: 1 of 4 right (a violation, pooled
	// with 0.62 into 4 of 8); 0.96: 4 of 4 right.
	var samples []ConfidenceSample
	for i := range 4 {
		samples = append(samples, sample(0.62, i < 3), sample(0.71, i < 1), sample(0.96, true))
	}
	got := FitConfidence(samples)
	want := []categorize.ConfidenceStep{{From: 0, Confidence: 0.5}, {From: 0.95, Confidence: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("FitConfidence = %v, want %v", got, want)
	}
	for _, score := range []float64{0.1, 0.62, 0.71} {
		if c := confidenceOf(got, score); c != 0.5 {
			t.Errorf("score %.2f maps to %v, want 0.5", score, c)
		}
	}
}

func confidenceOf(steps []categorize.ConfidenceStep, score float64) float64 {
	c := 0.0
	for _, s := range steps {
		if score >= s.From {
			c = s.Confidence
		}
	}
	return c
}

func TestReliability_buckets(t *testing.T) {
	samples := []ConfidenceSample{
		{Score: 0.55, DateRight: true, InBand: true},
		{Score: 0.55, DateRight: true, InBand: false},
		{Score: 0.97, DateRight: true, InBand: true},
		{Score: 1, DateRight: false, InBand: true},
	}
	rows, ece := Reliability(samples, identity)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
	}
	if r := rows[0]; r.From != 0.5 || r.Predictions != 2 || r.DateRight != 1 || r.Right != 0.5 {
		t.Errorf("first row %+v, want 2 predictions from 0.5, date right 1, right 0.5", r)
	}
	if r := rows[1]; r.From != 0.95 || r.To != 1 || r.Predictions != 2 || r.Right != 0.5 {
		t.Errorf("second row %+v, want 2 predictions from 0.95 to 1, right 0.5", r)
	}
	// |0.55-0.5| for two predictions, |0.985-0.5| for two.
	if want := (2*0.05 + 2*0.485) / 4; math.Abs(ece-want) > 1e-9 {
		t.Errorf("expected calibration error %v, want %v", ece, want)
	}
}
