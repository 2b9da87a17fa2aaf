package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/obie"
)

// sampleLabels is the part of a testdata/sample/<customer>/labels.json file
// that the evaluation reads: the category of each TransactionId and the
// income streams the generator of the demo feed intended.
type sampleLabels struct {
	CustomerID    string            `json:"customer_id"`
	End           string            `json:"end"`
	Categories    map[string]string `json:"categories"`
	IncomeStreams []struct {
		Payer        string `json:"payer"`
		Category     string `json:"category"`
		Cadence      string `json:"cadence"`
		NextExpected string `json:"next_expected"`
		Active       bool   `json:"active"`
	} `json:"income_streams"`
}

// LoadSample reads every customer folder under dir (testdata/sample) and
// returns one Case per customer. The demo feed is dated in England, so its
// cases use the England and Wales calendar.
func LoadSample(dir string) ([]Case, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list sample folder: %w", err)
	}
	var cases []Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := loadSampleCustomer(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("failed to load sample customer %s: %w", e.Name(), err)
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

func loadSampleCustomer(dir string) (Case, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		return Case{}, err
	}
	var labels sampleLabels
	if err := json.Unmarshal(raw, &labels); err != nil {
		return Case{}, fmt.Errorf("labels.json: %w", err)
	}
	end, err := insights.ParseDate(labels.End)
	if err != nil {
		return Case{}, fmt.Errorf("labels.json: end: %w", err)
	}

	// Step 1: decode the OBIE feed into domain transactions.
	feed, err := os.ReadFile(filepath.Join(dir, "transactions.ndjson"))
	if err != nil {
		return Case{}, err
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return Case{}, fmt.Errorf("failed to load zone Europe/London: %w", err)
	}
	payload, err := obie.Decoder{Local: london}.DecodeNDJSON("transactions.ndjson", feed)
	if err != nil {
		return Case{}, err
	}
	c := Case{
		Name:     "sample/" + filepath.Base(dir),
		Source:   SourceSample,
		Calendar: calendar.EnglandAndWales(),
		AsOf:     end,
		Labels:   map[string]insights.Category{},
	}
	for i := range payload.Transactions {
		t, err := payload.Transactions[i].ToDomain(labels.CustomerID, london)
		if err != nil {
			return Case{}, fmt.Errorf("transactions.ndjson record %d: %w", i, err)
		}
		t.Key = t.TransactionID
		c.Transactions = append(c.Transactions, t)
	}

	// Step 2: the labels. Pending entries have no label and are skipped by
	// the scoring.
	for id, cat := range labels.Categories {
		c.Labels[id] = insights.Category(cat)
	}
	for _, s := range labels.IncomeStreams {
		want := StreamLabel{Payer: s.Payer, Category: insights.Category(s.Category), Cadence: insights.Cadence(s.Cadence)}
		if s.Active && s.NextExpected != "" {
			if want.NextExpected, err = insights.ParseDate(s.NextExpected); err != nil {
				return Case{}, fmt.Errorf("labels.json: income_streams: next_expected: %w", err)
			}
		}
		c.Streams = append(c.Streams, want)
	}
	return c, nil
}
