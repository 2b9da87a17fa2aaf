package eval

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
)

// Print writes the report as aligned tables, then up to misses of the
// wrong predictions.
func (r *Report) Print(w io.Writer, misses int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "category\tsupport\tprecision\trecall\tF1\t\n")
	for _, c := range orderedCategories(r.Categories) {
		n := r.Categories[c]
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t\n", c, n.Support(), n.Precision(), n.Recall(), n.F1())
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\n")
	fmt.Fprintf(tw, "transactions\t%d\t\taccuracy\t%.4f\t\n", r.Transactions, r.Accuracy())
	fmt.Fprintf(tw, "macro F1, categories\t\t\t\t%.4f\t\n", r.MacroF1())
	fmt.Fprintf(tw, "macro F1, groups\t\t\t\t%.4f\t\n", r.GroupMacroF1())
	fmt.Fprintf(tw, "\t\t\t\t\t\n")
	fmt.Fprintf(tw, "next payday by cadence\tstreams\texact\trate\t\t\n")
	for _, c := range orderedKeys(r.PayDates) {
		h := r.PayDates[c]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t\t\n", c, h.Total, h.Exact, h.Rate())
	}
	fmt.Fprintf(tw, "regular salaries\t%d\t%d\t%.3f\t\t\n", r.RegularSalary.Total, r.RegularSalary.Exact, r.RegularSalary.Rate())
	fmt.Fprintf(tw, "streams with right cadence\t%d\t%d\t%.3f\t\t\n", r.StreamFound.Total, r.StreamFound.Exact, r.StreamFound.Rate())
	fmt.Fprintf(tw, "\t\t\t\t\t\n")
	fmt.Fprintf(tw, "rolling next payday\tcuts\texact\trate\t\t\n")
	for _, c := range orderedKeys(r.Rolling) {
		h := r.Rolling[c]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t\t\n", c, h.Total, h.Exact, h.Rate())
	}
	fmt.Fprintf(tw, "rolling, salaries\t%d\t%d\t%.3f\t\t\n", r.RollingSalary.Total, r.RollingSalary.Exact, r.RollingSalary.Rate())
	fmt.Fprintf(tw, "\t\t\t\t\t\n")
	fmt.Fprintf(tw, "commitments by cadence\tlabelled\texact\trate\t\t\n")
	for _, c := range orderedKeys(r.Commitments) {
		h := r.Commitments[c]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t\t\n", c, h.Total, h.Exact, h.Rate())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := PrintReliability(w, r.Confidence); err != nil {
		return err
	}

	if misses > 0 && len(r.Misses) > 0 {
		fmt.Fprintf(w, "\nwrong predictions (%d, first %d):\n", len(r.Misses), min(misses, len(r.Misses)))
		for _, m := range r.Misses[:min(misses, len(r.Misses))] {
			fmt.Fprintf(w, "  %s %s: want %s, got %s %s [%s | %s | %s | mcc %s | %s]\n", m.Case, m.Item, m.Want, m.Got,
				m.Rule, m.Counterparty, m.Description, m.BankCode, m.MCC, m.ProprietaryKey)
		}
	}
	return nil
}

// PrintReliability writes the reliability tables of samples: the rolling
// predictions grouped by the Confidence that categorize states for them,
// and by their uncalibrated score.
func PrintReliability(w io.Writer, samples []ConfidenceSample) error {
	for _, t := range []struct {
		title string
		state func(float64) float64
	}{
		{"stated confidence", categorize.CalibratedConfidence},
		{"uncalibrated score", identity},
	} {
		rows, ece := Reliability(samples, t.state)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\n%s\tpredictions\tmean stated\tdate right\tdate and band right\t\n", t.title)
		for _, r := range rows {
			fmt.Fprintf(tw, "%.2f to %.2f\t%d\t%.3f\t%.3f\t%.3f\t\n", r.From, r.To, r.Predictions, r.Stated, r.DateRight, r.Right)
		}
		fmt.Fprintf(tw, "expected calibration error\t\t\t\t%.3f\t\n", ece)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// orderedCategories returns the keys of counts in taxonomy order, with
// unknown categories last.
func orderedCategories(counts map[insights.Category]*Counts) []insights.Category {
	var out []insights.Category
	for _, c := range categorize.Categories() {
		if _, ok := counts[c]; ok {
			out = append(out, c)
		}
	}
	for c := range counts {
		if !categorize.IsKnown(c) {
			out = append(out, c)
		}
	}
	return out
}

func orderedKeys(m map[insights.Cadence]*Hits) []insights.Cadence {
	var out []insights.Cadence
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
